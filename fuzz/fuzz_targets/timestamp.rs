//! String → `parse_unix_ms`, against a slow reference written here.
//!
//! The grammar (RFC 3339's date-time, with the library's limit of 12 fraction
//! digits): `YYYY-MM-DD` `T`|`t` `HH:MM:SS` [`.` 1 to 12 digits] (`Z`|`z`|`±hh:mm`),
//! month 1-12, a day that exists in that month (proleptic Gregorian), hour 0-23,
//! minute 0-59, second 0-60 (60: a leap second, counted as the next second), offset
//! hours 0-23 and minutes 0-59. The value is the instant in milliseconds since
//! 1970-01-01T00:00:00Z, rounded down (sub-millisecond digits truncated).
//!
//! The reference counts days one year and one month at a time and works in exact
//! picoseconds, so it shares no arithmetic with the library's closed form.
//!
//! Each input is checked as given, and is also read as field values (year, month,
//! ..., zone, possibly out of range) from which a candidate timestamp is written;
//! for every accepted timestamp, monotonicity properties are checked too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use teamsop::parse_unix_ms;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&text);
    if let Some(fields) = Fields::from_bytes(data) {
        let text = fields.write();
        let value = check(&text);
        assert_eq!(value.is_some(), fields.in_range(), "{text:?}: {value:?}");
        if value.is_some() {
            properties(&fields, data);
        }
    }
});

/// The library and the reference agree on `text`; returns the value.
fn check(text: &str) -> Option<i64> {
    let got = parse_unix_ms(text);
    let expect = reference(text);
    assert_eq!(got, expect, "parse_unix_ms({text:?})");
    got
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn month_len(year: i64, month: i64) -> i64 {
    const LEN: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if month == 2 && is_leap(year) {
        29
    } else {
        LEN[(month - 1) as usize]
    }
}

fn year_len(year: i64) -> i64 {
    (1..=12).map(|m| month_len(year, m)).sum()
}

/// Days from 1970-01-01 to `year-month-day`, counted a year and a month at a time.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let mut days = 0;
    if year >= 1970 {
        for y in 1970..year {
            days += year_len(y);
        }
    } else {
        for y in year..1970 {
            days -= year_len(y);
        }
    }
    for m in 1..month {
        days += month_len(year, m);
    }
    days + day - 1
}

/// The reference parser: `None` unless `text` is in the grammar above.
fn reference(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));

    let year = number(0, 4)?;
    let month = number(5, 2)?;
    let day = number(8, 2)?;
    let hour = number(11, 2)?;
    let minute = number(14, 2)?;
    let second = number(17, 2)?;
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":")) {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > month_len(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }

    let mut rest = &b[19..];
    let mut picos: i128 = 0; // the fraction, in picoseconds (12 digits)
    if let Some(after) = rest.strip_prefix(b".") {
        let count = after.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 || count > 12 {
            return None;
        }
        let digits = after[..count].iter().copied();
        for d in digits.chain(std::iter::repeat(b'0')).take(12) {
            picos = picos * 10 + i128::from(d - b'0');
        }
        rest = &after[count..];
    }

    let offset_minutes: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let hh = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let mm = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hh > 23 || mm > 59 {
                return None;
            }
            if *sign == b'-' {
                -(hh * 60 + mm)
            } else {
                hh * 60 + mm
            }
        }
        _ => return None,
    };

    let seconds = days_since_epoch(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_minutes * 60;
    let exact_picos = i128::from(seconds) * 1_000_000_000_000 + picos;
    let millis = exact_picos.div_euclid(1_000_000_000);
    Some(i64::try_from(millis).expect("fits"))
}

/// A timestamp as field values; out-of-range values are kept, to be refused.
#[derive(Clone, Debug)]
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Fraction digits, 0 to 13 of them (13 is refused).
    fraction: Vec<u8>,
    lower_t: bool,
    /// `None` for Z; otherwise (sign, hh, mm).
    zone: Option<(bool, i64, i64)>,
    lower_z: bool,
}

impl Fields {
    /// Reads fields from the first bytes: small out-of-range values included.
    fn from_bytes(data: &[u8]) -> Option<Fields> {
        if data.len() < 12 {
            return None;
        }
        let d = |i: usize| i64::from(data[i]);
        let count = (data[8] % 14) as usize;
        let fraction = (0..count)
            .map(|i| b'0' + data.get(12 + i).copied().unwrap_or(7) % 10)
            .collect();
        let zone = match data[9] % 4 {
            0 | 1 => None,
            k => Some((k == 2, d(10) % 26, d(11) % 62)),
        };
        Some(Fields {
            year: (d(0) << 8 | d(1)) % 10_000,
            month: d(2) % 14,
            day: d(3) % 33,
            hour: d(4) % 26,
            minute: d(5) % 62,
            second: d(6) % 62,
            fraction,
            lower_t: data[7] & 1 == 1,
            zone,
            lower_z: data[9] % 4 == 1,
        })
    }

    fn in_range(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= month_len(self.year, self.month)
            && self.hour <= 23
            && self.minute <= 59
            && self.second <= 60
            && self.fraction.len() <= 12
            && self.zone.is_none_or(|(_, hh, mm)| hh <= 23 && mm <= 59)
    }

    fn write(&self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            if self.lower_t { 't' } else { 'T' },
            self.hour,
            self.minute,
            self.second
        );
        if !self.fraction.is_empty() {
            s.push('.');
            s.push_str(std::str::from_utf8(&self.fraction).expect("digits"));
        }
        match self.zone {
            None => s.push(if self.lower_z { 'z' } else { 'Z' }),
            Some((plus, hh, mm)) => {
                s.push_str(&format!("{}{hh:02}:{mm:02}", if plus { '+' } else { '-' }))
            }
        }
        s
    }

    fn value(&self) -> Option<i64> {
        parse_unix_ms(&self.write())
    }

    fn offset_ms(&self) -> i64 {
        match self.zone {
            None => 0,
            Some((plus, hh, mm)) => (if plus { 1 } else { -1 }) * (hh * 60 + mm) * 60_000,
        }
    }
}

/// Monotonicity and consistency of an accepted timestamp `f`.
fn properties(f: &Fields, data: &[u8]) {
    let v = f.value().expect("accepted");
    let text = f.write();

    // A proper prefix of an accepted timestamp is refused.
    assert_eq!(
        parse_unix_ms(&text[..text.len() - 1]),
        None,
        "prefix of {text:?}"
    );
    // Trailing text is refused.
    assert_eq!(parse_unix_ms(&format!("{text} ")), None, "{text:?} + space");

    // Letter case of T and Z does not matter.
    let mut g = f.clone();
    g.lower_t = !g.lower_t;
    g.lower_z = !g.lower_z;
    assert_eq!(g.value(), Some(v), "case of {text:?}");

    // The zone moves the instant by exactly its offset.
    let mut z = f.clone();
    z.zone = None;
    let utc = z.value().expect("the same local time in Z");
    assert_eq!(v, utc - f.offset_ms(), "zone of {text:?}");
    let other = (
        data.len() & 1 == 0,
        i64::from(data[10]) % 24,
        i64::from(data[11]) % 60,
    );
    z.zone = Some(other);
    assert_eq!(
        z.value(),
        Some(utc - z.offset_ms()),
        "{text:?} with zone {other:?}"
    );

    // The fraction adds less than a second; digits past the third change nothing.
    let mut w = f.clone();
    w.fraction.clear();
    let whole = w.value().expect("without a fraction");
    assert!(
        whole <= v && v < whole + 1000,
        "fraction of {text:?}: {whole} {v}"
    );
    if f.fraction.len() < 12 {
        let mut more = f.clone();
        more.fraction.push(b'9');
        let m = more.value().expect("one more digit");
        if f.fraction.len() >= 3 {
            assert_eq!(m, v, "a 4th+ digit changed {text:?}");
        } else {
            assert!(v <= m && m < whole + 1000, "a digit more on {text:?}: {m}");
        }
    } else {
        let mut more = f.clone();
        more.fraction.push(b'0');
        assert_eq!(more.value(), None, "13 digits accepted: {text:?}");
    }

    // One unit more of any field is later by exactly that unit.
    let later = |g: Fields, unit: i64, what: &str| {
        if let Some(w) = g.value() {
            assert_eq!(w - v, unit, "{what} after {text:?} → {}", g.write());
        }
    };
    if f.second < 60 {
        later(
            Fields {
                second: f.second + 1,
                ..f.clone()
            },
            1_000,
            "second",
        );
    }
    if f.minute < 59 {
        later(
            Fields {
                minute: f.minute + 1,
                ..f.clone()
            },
            60_000,
            "minute",
        );
    }
    if f.hour < 23 {
        later(
            Fields {
                hour: f.hour + 1,
                ..f.clone()
            },
            3_600_000,
            "hour",
        );
    }
    if f.day < month_len(f.year, f.month) {
        later(
            Fields {
                day: f.day + 1,
                ..f.clone()
            },
            86_400_000,
            "day",
        );
    }
    // The next month or year: later by that many days.
    if f.month < 12 && f.day <= month_len(f.year, f.month + 1) {
        let days = month_len(f.year, f.month);
        later(
            Fields {
                month: f.month + 1,
                ..f.clone()
            },
            days * 86_400_000,
            "month",
        );
    }
    if f.year < 9999 && f.day <= month_len(f.year + 1, f.month) {
        let days = if f.month <= 2 {
            year_len(f.year)
        } else {
            year_len(f.year + 1)
        };
        later(
            Fields {
                year: f.year + 1,
                ..f.clone()
            },
            days * 86_400_000,
            "year",
        );
    }
    // A later zone (east) is an earlier instant.
    if let Some((plus, hh, mm)) = f.zone {
        if plus && mm < 59 {
            let g = Fields {
                zone: Some((true, hh, mm + 1)),
                ..f.clone()
            };
            assert_eq!(g.value(), Some(v - 60_000), "zone +1 min on {text:?}");
        }
    }
}
