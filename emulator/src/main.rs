//! `teamsop-emulator`: the command line around [`teamsop_emulator::Emulator`].

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use teamsop_emulator::{Config, Emulator, RateLimitScope, Scenario, MAX_LATENCY_MS};

const USAGE: &str = "\
usage: teamsop-emulator [--bind 127.0.0.1] [--port 0] [--token TOKEN] [--scenarios FILE]
                        [--port-file PATH] [--progress-polls N] [--tls --ca-out PATH]
                        [--no-record] [--workers N] [--rate-limit N]
                        [--rate-limit-scope inner|batch] [--rate-limit-retry-after S|none]
                        [--batch-seed N] [--latency-ms N]

A Microsoft Graph emulator (teamsAsyncOperation endpoints) on loopback.

  --bind ADDR          loopback address to listen on (127.0.0.0/8, ::1, localhost)
  --port N             port, 0 (default) picks a free one
  --token TOKEN        bearer token accepted (default emulator-token)
  --scenarios FILE     JSON scenarios to preload (an object or an array)
  --port-file PATH     also write the port number there (atomically)
  --progress-polls N   GETs per notStarted / inProgress state of created operations (default 1)
  --tls                serve HTTPS with a CA made at start
  --ca-out PATH        write that CA certificate (PEM) there (with --tls)
  --no-record          do not record requests (for benchmarks)
  --workers N          server threads, 1 to 64 (default 2)
  --rate-limit N       at most N operation GETs per token in any sliding second
                       (requests inside a $batch counted one by one); 0: off (default)
  --rate-limit-scope S inner (default): a 429 per request inside a $batch;
                       batch: a 429 for the whole $batch
  --rate-limit-retry-after S
                       Retry-After of the limiter's 429s in seconds (default 1),
                       or none to send no Retry-After
  --batch-seed N       seed of the order of the answers inside $batch answers (default 0)
  --latency-ms N       pause N ms before answering each Graph request, standing for a
                       network's round trip (default 0, at most 60000)
  -h, --help           this help
  -V, --version        the version

Prints `teamsop-emulator listening on URL` once listening; runs until SIGINT,
SIGTERM or POST /_emulator/shutdown.";

enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

fn parse_bind(v: &str) -> Result<IpAddr, String> {
    if v.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let ip: IpAddr = v
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("--bind: `{v}` is not an IP address"))?;
    if !ip.is_loopback() {
        return Err(format!(
            "--bind: `{v}` is not a loopback address (127.0.0.0/8 or ::1)"
        ));
    }
    Ok(ip)
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut config = Config::default().handle_signals(true);
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        // `--flag=value` and `--flag value` both work.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg, None),
        };
        let mut value = || -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            let v = args
                .get(i)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))?;
            i += 1;
            Ok(v)
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--bind" => config.bind = parse_bind(&value()?)?,
            "--port" => {
                let v = value()?;
                config.port = v
                    .parse()
                    .map_err(|_| format!("--port: `{v}` is not a port number"))?;
            }
            "--token" => config.token = value()?,
            "--scenarios" => {
                let path = value()?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("--scenarios {path}: {e}"))?;
                let list =
                    Scenario::from_json(&text).map_err(|e| format!("--scenarios {path}: {e}"))?;
                config.scenarios.extend(list);
            }
            "--port-file" => config.port_file = Some(value()?.into()),
            "--progress-polls" => {
                let v = value()?;
                config.progress_polls = v
                    .parse()
                    .map_err(|_| format!("--progress-polls: `{v}` is not a count"))?;
            }
            "--tls" => config.tls = true,
            "--ca-out" => config.ca_out = Some(value()?.into()),
            "--no-record" => config.record_requests = false,
            "--workers" => {
                let v = value()?;
                config.worker_threads = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| format!("--workers: `{v}` is not 1 to 64"))?;
            }
            "--rate-limit" => {
                let v = value()?;
                config.rate_limit.per_second = v
                    .parse()
                    .map_err(|_| format!("--rate-limit: `{v}` is not a count"))?;
            }
            "--rate-limit-scope" => {
                let v = value()?;
                config.rate_limit.scope = match v.as_str() {
                    "inner" => RateLimitScope::Inner,
                    "batch" => RateLimitScope::Batch,
                    _ => return Err(format!("--rate-limit-scope: `{v}` is not inner or batch")),
                };
            }
            "--rate-limit-retry-after" => {
                let v = value()?;
                config.rate_limit.retry_after_s = if v == "none" {
                    None
                } else {
                    Some(v.parse().map_err(|_| {
                        format!("--rate-limit-retry-after: `{v}` is not seconds or none")
                    })?)
                };
            }
            "--batch-seed" => {
                let v = value()?;
                config.batch_seed = v
                    .parse()
                    .map_err(|_| format!("--batch-seed: `{v}` is not a number"))?;
            }
            "--latency-ms" => {
                let v = value()?;
                config.latency_ms = v
                    .parse()
                    .ok()
                    .filter(|ms| *ms <= MAX_LATENCY_MS)
                    .ok_or_else(|| format!("--latency-ms: `{v}` is not 0 to 60000"))?;
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    if config.ca_out.is_some() && !config.tls {
        return Err("--ca-out needs --tls".to_owned());
    }
    Ok(Command::Run(Box::new(config)))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(Command::Run(c)) => c,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("teamsop-emulator {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("teamsop-emulator: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let emulator = match Emulator::start(*config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("teamsop-emulator: {e}");
            // A bad setting (address, scenario) is a usage error, like a bad flag.
            return if e.kind() == std::io::ErrorKind::InvalidInput {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            };
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server.
    let _ = writeln!(out, "teamsop-emulator listening on {}", emulator.base_url());
    let _ = out.flush();
    drop(out);
    emulator.wait();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn config(list: &[&str]) -> Config {
        match parse_args(&args(list)) {
            Ok(Command::Run(c)) => *c,
            Ok(_) => panic!("not a run"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn flags() {
        let c = config(&[
            "--bind",
            "::1",
            "--port=8080",
            "--token",
            "t",
            "--progress-polls",
            "3",
            "--tls",
            "--ca-out",
            "/tmp/ca.pem",
            "--no-record",
            "--workers",
            "3",
            "--port-file",
            "/tmp/p",
            "--rate-limit",
            "200",
            "--rate-limit-scope=batch",
            "--rate-limit-retry-after",
            "none",
            "--batch-seed",
            "9",
            "--latency-ms",
            "25",
        ]);
        assert_eq!(c.latency_ms, 25);
        assert_eq!(c.rate_limit.per_second, 200);
        assert_eq!(c.rate_limit.scope, RateLimitScope::Batch);
        assert_eq!(c.rate_limit.retry_after_s, None);
        assert_eq!(c.batch_seed, 9);
        let other = config(&["--rate-limit", "5", "--rate-limit-retry-after", "3"]);
        assert_eq!(other.rate_limit.retry_after_s, Some(3));
        assert_eq!(other.rate_limit.scope, RateLimitScope::Inner);
        assert_eq!(config(&[]).rate_limit.per_second, 0);
        assert_eq!(c.bind, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(c.port, 8080);
        assert_eq!(c.token, "t");
        assert_eq!(c.progress_polls, 3);
        assert_eq!(c.worker_threads, 3);
        assert!(c.tls && !c.record_requests && c.handle_signals);
        assert_eq!(c.ca_out.unwrap().to_str(), Some("/tmp/ca.pem"));
        assert_eq!(
            config(&["--bind", "localhost"]).bind.to_string(),
            "127.0.0.1"
        );
        assert_eq!(
            config(&["--bind", "127.0.0.2"]).bind.to_string(),
            "127.0.0.2"
        );
    }

    #[test]
    fn refusals() {
        for bad in [
            &["--bind", "0.0.0.0"][..],
            &["--bind", "192.168.1.1"],
            &["--bind", "::"],
            &["--bind", "nonsense"],
            &["--port", "70000"],
            &["--port"],
            &["--ca-out", "x"],
            &["--frobnicate"],
            &["--scenarios", "/nonexistent/file.json"],
            &["--rate-limit", "-1"],
            &["--rate-limit", "lots"],
            &["--rate-limit-scope", "tenant"],
            &["--rate-limit-retry-after", "soon"],
            &["--batch-seed", "x"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
        assert!(matches!(parse_args(&args(&["--help"])), Ok(Command::Help)));
    }
}
