//! ISO 8601 / RFC 3339 date-times as Graph sends them, to Unix milliseconds.
//!
//! Accepted: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 12 digits, then `Z`
//! or `±hh:mm`. Digits below the millisecond are truncated, not rounded. A time
//! without a zone is refused: it names no instant.

const MAX_FRACTION_DIGITS: usize = 12;

/// Parses `text` to milliseconds since 1970-01-01T00:00:00Z, or `None` if it is not
/// a date-time of the form above (or names a day that does not exist).
pub fn parse_unix_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }

    let mut pos = 19;
    let mut millis = 0i64;
    if b[pos] == b'.' {
        let start = pos + 1;
        let end = start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        let count = end - start;
        if count == 0 || count > MAX_FRACTION_DIGITS {
            return None;
        }
        for i in 0..3 {
            millis *= 10;
            if i < count {
                millis += i64::from(b[start + i] - b'0');
            }
        }
        pos = end;
    }

    let offset_minutes = match &b[pos..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let oh = digits(b, pos + 1, 2)?;
            let om = digits(b, pos + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let total = oh * 60 + om;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// The number made of `len` ASCII digits at `at`, or `None`.
fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let slice = b.get(at..at + len)?;
    slice.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_unix_ms as p;

    #[test]
    fn graph_seven_digit_fraction_truncates_to_millis() {
        assert_eq!(p("2021-05-27T21:23:41.9085453Z"), Some(1_622_150_621_908));
        assert_eq!(p("2021-05-27T21:23:45.1899277Z"), Some(1_622_150_625_189));
    }

    #[test]
    fn fraction_lengths_zero_to_twelve() {
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(p("1970-01-01T00:00:00.5Z"), Some(500));
        assert_eq!(p("1970-01-01T00:00:00.12Z"), Some(120));
        assert_eq!(p("1970-01-01T00:00:00.123Z"), Some(123));
        assert_eq!(p("1970-01-01T00:00:00.999999999999Z"), Some(999));
        assert_eq!(p("1970-01-01T00:00:00.9999999999999Z"), None);
        assert_eq!(p("1970-01-01T00:00:00.Z"), None);
    }

    #[test]
    fn offsets_are_applied() {
        assert_eq!(p("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(p("1969-12-31T19:00:00-05:00"), Some(0));
        assert_eq!(
            p("2021-05-27T23:23:41.9085453+02:00"),
            Some(1_622_150_621_908)
        );
        assert_eq!(p("1970-01-01T00:00:00+24:00"), None);
        assert_eq!(p("1970-01-01T00:00:00+0100"), None);
    }

    #[test]
    fn before_the_epoch_truncates_digits() {
        assert_eq!(p("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(p("1969-12-31T23:59:59.9995Z"), Some(-1));
        assert_eq!(p("0001-01-01T00:00:00Z"), Some(-62_135_596_800_000));
    }

    #[test]
    fn calendar_is_checked() {
        assert_eq!(p("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
        assert_eq!(p("2023-02-29T00:00:00Z"), None);
        assert_eq!(p("2100-02-29T00:00:00Z"), None);
        assert_eq!(p("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(p("2021-13-01T00:00:00Z"), None);
        assert_eq!(p("2021-04-31T00:00:00Z"), None);
        assert_eq!(p("2021-01-01T24:00:00Z"), None);
        assert_eq!(p("9999-12-31T23:59:59.999Z"), Some(253_402_300_799_999));
    }

    #[test]
    fn malformed_is_none() {
        for bad in [
            "",
            "2021-05-27",
            "2021-05-27T21:23:41",
            "2021-05-27 21:23:41Z",
            "2021-05-27T21:23:41ZZ",
            "2021-05-27T21:23:41.12a4Z",
            "+2021-05-27T21:23:41Z",
            "2021-5-27T21:23:41Z",
            "２０２１-05-27T21:23:41Z",
            "2021-05-27T21:23:41+01:00 ",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
