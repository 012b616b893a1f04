//! The bearer token of a client: one set from outside, or renewed through a
//! provider before it expires and once after a 401 (with the claims challenge of
//! continuous access evaluation). For one client the provider is never asked twice
//! at once: callers that need a token while it is being asked wait for that answer
//! and share it.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::settings::Token;
use crate::error::{Error, ErrorKind, Result};
use crate::log::{log, Logger};
use crate::remedy::Remedy;

/// How long before its expiry a provided token is renewed.
pub const RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A token from a [`TokenProvider`], and when it expires.
pub struct ProvidedToken {
    /// The bearer token: visible ASCII, not empty.
    pub token: String,
    /// Its expiry in Unix milliseconds; `None` when unknown (then it is renewed
    /// only after a 401).
    pub expires_unix_ms: Option<i64>,
}

impl fmt::Debug for ProvidedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvidedToken")
            .field("token", &"[redacted]")
            .field("expires_unix_ms", &self.expires_unix_ms)
            .finish()
    }
}

/// Gives a client its tokens (MSAL, `az account get-access-token`, a managed
/// identity...). Called on the thread of the call that needs a token.
pub trait TokenProvider: Send + Sync {
    /// A new token. `claims` is the decoded claims challenge of the 401 that asked
    /// for it (to pass to the identity platform), `None` otherwise. An `Err` fails
    /// the call that needed the token (as [`ErrorKind::Token`]).
    fn token(&self, claims: Option<&str>) -> Result<ProvidedToken>;
}

impl<F> TokenProvider for F
where
    F: Fn(Option<&str>) -> Result<ProvidedToken> + Send + Sync,
{
    fn token(&self, claims: Option<&str>) -> Result<ProvidedToken> {
        self(claims)
    }
}

/// The token in use, and the number it got when it was stored (so a caller can
/// tell whether it was replaced since it read it).
#[derive(Clone)]
pub(crate) struct Bearer {
    pub token: Token,
    pub generation: u64,
}

/// The state behind the lock.
#[derive(Default)]
struct State {
    token: Option<Token>,
    /// Expiry of `token` in Unix ms, when known.
    expires_unix_ms: Option<i64>,
    generation: u64,
    provider: Option<Arc<dyn TokenProvider>>,
    /// The thread asking the provider now, if one is.
    asking: Option<ThreadId>,
    /// Provider calls started, and the outcome of the last one ended.
    rounds_started: u64,
    rounds_ended: u64,
    last_failure: Option<Error>,
}

/// A client's token and provider.
#[derive(Default)]
pub(crate) struct Auth {
    state: Mutex<State>,
    round_ended: Condvar,
}

impl Auth {
    pub(crate) fn with_token(token: Option<Token>) -> Auth {
        Auth {
            state: Mutex::new(State {
                token,
                ..State::default()
            }),
            round_ended: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the token (`None` clears it); its expiry is unknown.
    pub(crate) fn set_token(&self, token: Option<Token>) {
        let mut state = self.lock();
        state.token = token;
        state.expires_unix_ms = None;
        state.generation += 1;
    }

    /// Sets or removes the provider. The token in use stays.
    pub(crate) fn set_provider(&self, provider: Option<Arc<dyn TokenProvider>>) {
        self.lock().provider = provider;
    }

    /// The token in use, if any.
    pub(crate) fn current(&self) -> Option<Token> {
        self.lock().token.clone()
    }

    #[cfg(test)]
    pub(crate) fn has_token(&self) -> bool {
        self.lock().token.is_some()
    }

    pub(crate) fn has_provider(&self) -> bool {
        self.lock().provider.is_some()
    }

    /// The token for a request about to start: renewed first (at most once) when
    /// a provider is set and there is none or it expires within [`RENEW_MARGIN`].
    pub(crate) fn bearer(&self, deadline: Instant, log: &Logger) -> Result<Bearer> {
        let (current, expiring) = {
            let state = self.lock();
            let current = state.token.clone().map(|token| Bearer {
                token,
                generation: state.generation,
            });
            let expiring = state.provider.is_some()
                && match (&current, state.expires_unix_ms) {
                    (None, _) => true,
                    (Some(_), Some(expiry)) => expires_soon(expiry),
                    (Some(_), None) => false,
                };
            (current, expiring)
        };
        if !expiring {
            return current.ok_or_else(|| {
                Error::invalid("no access token is set; nothing was sent")
                    .with_remedy(Remedy::SetToken)
            });
        }
        match &current {
            None => log!(log, Debug, "token: none set; asking the provider"),
            Some(_) => log!(
                log,
                Debug,
                "token: expires within {} s; asking the provider",
                RENEW_MARGIN.as_secs()
            ),
        }
        let seen = current.as_ref().map_or(self.generation(), |b| b.generation);
        match self.renew(seen, None, deadline, log) {
            Ok(bearer) => Ok(bearer),
            // A token that is only close to expiry still works: a provider that
            // fails now does not stop a request that can still be made.
            Err(e) if *e.kind() != ErrorKind::Timeout && current.is_some() => {
                log!(
                    log,
                    Warn,
                    "token: renewal failed ({}); using the current token until it expires",
                    e.message()
                );
                Ok(current.expect("checked above"))
            }
            Err(e) => Err(e),
        }
    }

    /// A new token after the token of generation `generation` was refused (401),
    /// or `None` when there is no provider to ask.
    pub(crate) fn after_rejection(
        &self,
        generation: u64,
        claims: Option<&str>,
        deadline: Instant,
        log: &Logger,
    ) -> Option<Result<Bearer>> {
        if !self.has_provider() {
            return None;
        }
        match claims {
            Some(_) => log!(
                log,
                Debug,
                "token: refused (401) with a claims challenge; asking the provider"
            ),
            None => log!(log, Debug, "token: refused (401); asking the provider"),
        }
        Some(self.renew(generation, claims, deadline, log))
    }

    /// The number of the token in use (see [`Bearer::generation`]).
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Asks the provider for a token to replace generation `seen`, unless another
    /// caller already replaced it (then that one is used) or is asking now (then
    /// its answer is awaited and shared).
    fn renew(
        &self,
        seen: u64,
        claims: Option<&str>,
        deadline: Instant,
        log: &Logger,
    ) -> Result<Bearer> {
        let me = thread::current().id();
        let mut state = self.lock();
        loop {
            if state.generation != seen {
                if let Some(token) = state.token.clone() {
                    return Ok(Bearer {
                        token,
                        generation: state.generation,
                    });
                }
            }
            match state.asking {
                None => break,
                // The provider itself called into the library: it cannot wait for
                // its own answer. The call goes on with what is there.
                Some(asker) if asker == me => {
                    return state
                        .token
                        .clone()
                        .map(|token| Bearer {
                            token,
                            generation: state.generation,
                        })
                        .ok_or_else(|| {
                            Error::new(
                                ErrorKind::Token,
                                "a call made from inside the token provider needs a token, and none is set yet",
                            )
                        });
                }
                Some(_) => {
                    let round = state.rounds_started;
                    state = self.await_round(state, round, deadline)?;
                    if let Some(failure) = &state.last_failure {
                        if state.generation == seen {
                            return Err(failure.clone());
                        }
                    }
                }
            }
        }
        let Some(provider) = state.provider.clone() else {
            return Err(Error::new(
                ErrorKind::Token,
                "the token provider was removed while a token was needed",
            ));
        };
        state.asking = Some(me);
        state.rounds_started += 1;
        drop(state);

        let asked = Instant::now();
        // The provider runs without the lock: it may call back into the library.
        let answer = provider.token(claims).and_then(check_provided);

        let mut state = self.lock();
        state.asking = None;
        state.rounds_ended = state.rounds_started;
        let outcome = match answer {
            Ok(provided) => {
                state.token = Some(provided.0);
                state.expires_unix_ms = provided.1;
                state.generation += 1;
                state.last_failure = None;
                log!(
                    log,
                    Debug,
                    "token: renewed in {} ms{}",
                    asked.elapsed().as_millis(),
                    match provided.1 {
                        Some(ms) => format!("; it expires in {} s", (ms - now_unix_ms()) / 1000),
                        None => "; its expiry is unknown".to_owned(),
                    }
                );
                Ok(Bearer {
                    token: state.token.clone().expect("just stored"),
                    generation: state.generation,
                })
            }
            Err(e) => {
                state.last_failure = Some(e.clone());
                Err(e)
            }
        };
        drop(state);
        self.round_ended.notify_all();
        // A late answer is kept for the next call, but this one has run out of time.
        if outcome.is_ok() && Instant::now() >= deadline {
            return Err(Error::timeout(
                "the token provider answered after the call's deadline (the token is kept for the next call)",
            ));
        }
        outcome
    }

    /// Waits until provider call `round` has ended, or the deadline.
    fn await_round<'g>(
        &'g self,
        mut state: MutexGuard<'g, State>,
        round: u64,
        deadline: Instant,
    ) -> Result<MutexGuard<'g, State>> {
        while state.rounds_ended < round {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::timeout(
                    "timed out waiting for the token provider (asked by another call)",
                ));
            }
            state = self
                .round_ended
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(state)
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Auth")
            .field("token", &state.token.as_ref().map(|_| "[redacted]"))
            .field("expires_unix_ms", &state.expires_unix_ms)
            .field("provider", &state.provider.is_some())
            .finish()
    }
}

/// Checks a provided token as `set_token` checks one, with messages that blame
/// the provider (and never quote the token).
fn check_provided(provided: ProvidedToken) -> Result<(Token, Option<i64>)> {
    let refuse = |why: &str| {
        Err(Error::new(
            ErrorKind::Token,
            format!("the token provider {why}"),
        ))
    };
    if provided.token.is_empty() {
        return refuse("returned an empty token");
    }
    if !provided.token.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse("returned a token holding a character outside visible ASCII (0x21-0x7E)");
    }
    match Token::new(&provided.token) {
        Ok(token) => Ok((token, provided.expires_unix_ms)),
        Err(_) => refuse("returned a token that cannot be sent in a header"),
    }
}

pub(crate) fn now_unix_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn expires_soon(expires_unix_ms: i64) -> bool {
    let margin = RENEW_MARGIN.as_millis() as i64;
    expires_unix_ms.saturating_sub(now_unix_ms()) < margin
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    fn provider(calls: Arc<AtomicUsize>, lifetime_ms: Option<i64>) -> Arc<dyn TokenProvider> {
        Arc::new(move |_claims: Option<&str>| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(ProvidedToken {
                token: format!("tok{n}"),
                expires_unix_ms: lifetime_ms.map(|l| now_unix_ms() + l),
            })
        })
    }

    #[test]
    fn no_token_and_no_provider_is_invalid() {
        let auth = Auth::default();
        let err = auth.bearer(far(), &Logger::off()).err().unwrap();
        assert_eq!(*err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(err.remedy(), Some(Remedy::SetToken));
    }

    #[test]
    fn renews_before_expiry_once_and_reuses_a_fresh_token() {
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = Auth::default();
        auth.set_provider(Some(provider(Arc::clone(&calls), Some(3_600_000))));
        let a = auth.bearer(far(), &Logger::off()).unwrap();
        let b = auth.bearer(far(), &Logger::off()).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(a.generation, b.generation);

        // A provider whose tokens are always close to expiry: asked once per request.
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = Auth::default();
        auth.set_provider(Some(provider(Arc::clone(&calls), Some(60_000))));
        auth.bearer(far(), &Logger::off()).unwrap();
        auth.bearer(far(), &Logger::off()).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_set_token_is_kept_until_a_rejection() {
        let calls = Arc::new(AtomicUsize::new(0));
        let auth = Auth::with_token(Some(Token::new("outside").unwrap()));
        auth.set_provider(Some(provider(Arc::clone(&calls), None)));
        let first = auth.bearer(far(), &Logger::off()).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let renewed = auth
            .after_rejection(first.generation, Some("{}"), far(), &Logger::off())
            .unwrap()
            .unwrap();
        assert_ne!(renewed.generation, first.generation);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A second rejection of the old generation reuses the new token.
        let again = auth
            .after_rejection(first.generation, None, far(), &Logger::off())
            .unwrap()
            .unwrap();
        assert_eq!(again.generation, renewed.generation);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn concurrent_callers_share_one_answer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let auth = Arc::new(Auth::default());
        auth.set_provider(Some(Arc::new(move |_: Option<&str>| {
            counted.fetch_add(1, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(100));
            Ok(ProvidedToken {
                token: "shared".into(),
                expires_unix_ms: None,
            })
        })));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let auth = Arc::clone(&auth);
                thread::spawn(move || auth.bearer(far(), &Logger::off()).unwrap().generation)
            })
            .collect();
        let generations: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(generations.iter().all(|g| *g == generations[0]));
    }

    #[test]
    fn unusable_answers_fail_with_token_errors_that_do_not_quote_it() {
        for bad in ["", "has space", "tab\there", "é"] {
            let auth = Auth::default();
            let bad_owned = bad.to_owned();
            auth.set_provider(Some(Arc::new(move |_: Option<&str>| {
                Ok(ProvidedToken {
                    token: bad_owned.clone(),
                    expires_unix_ms: None,
                })
            })));
            let err = auth.bearer(far(), &Logger::off()).err().unwrap();
            assert_eq!(*err.kind(), ErrorKind::Token, "{bad:?}");
            if !bad.is_empty() {
                assert!(!err.message().contains(bad), "{bad:?}");
            }
        }
    }

    #[test]
    fn a_late_answer_times_out_the_call_but_is_kept() {
        let auth = Auth::default();
        auth.set_provider(Some(Arc::new(|_: Option<&str>| {
            thread::sleep(Duration::from_millis(80));
            Ok(ProvidedToken {
                token: "late".into(),
                expires_unix_ms: None,
            })
        })));
        let err = auth
            .bearer(Instant::now() + Duration::from_millis(10), &Logger::off())
            .err()
            .unwrap();
        assert_eq!(*err.kind(), ErrorKind::Timeout);
        assert!(auth.has_token());
        assert!(auth.bearer(far(), &Logger::off()).is_ok());
    }

    #[test]
    fn a_provider_calling_back_gets_the_current_token_without_deadlock() {
        let auth = Arc::new(Auth::with_token(Some(Token::new("old").unwrap())));
        let inner = Arc::clone(&auth);
        auth.set_provider(Some(Arc::new(move |_: Option<&str>| {
            // The nested call sees the old token and does not ask again.
            let nested = inner.after_rejection(0, None, far(), &Logger::off());
            assert!(nested.unwrap().is_ok());
            Ok(ProvidedToken {
                token: "new".into(),
                expires_unix_ms: None,
            })
        })));
        let gen = auth.bearer(far(), &Logger::off()).unwrap().generation;
        assert!(auth
            .after_rejection(gen, None, far(), &Logger::off())
            .unwrap()
            .is_ok());
    }
}
