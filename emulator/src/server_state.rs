//! What one running emulator shares between its connections: the tokens, the
//! operations, the scenarios, the recorder, the rate limiter, the `$batch`
//! order, and the stop signal.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::config::Config;
use crate::operations::OperationStore;
use crate::playback::ScriptSet;
use crate::prepared::Compiled;
use crate::rate_limit::Limiter;
use crate::recorder::Recorder;
use crate::splitmix::SplitMix64;
use crate::tokens::Tokens;

/// How the server is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Running,
    /// Let answers in flight finish (for a short while).
    Graceful,
    /// Close everything now.
    Now,
}

pub(crate) struct State {
    pub tokens: Tokens,
    pub operations: OperationStore,
    pub scripts: ScriptSet,
    pub recorder: Recorder,
    pub limiter: Limiter,
    /// Shuffles the answers of each `$batch`.
    batch_order: Mutex<SplitMix64>,
    batch_seed: u64,
    /// The pause before each Graph answer, in ms (`Config::latency_ms`, or
    /// `POST /_emulator/latency`).
    latency_ms: std::sync::atomic::AtomicU64,
    /// The latency a reset goes back to.
    config_latency_ms: u64,
    pub stop: watch::Sender<Stop>,
}

impl State {
    pub(crate) fn new(
        config: &Config,
        operations: OperationStore,
        scenarios: Vec<Arc<Compiled>>,
    ) -> State {
        State {
            tokens: Tokens::new(config.token.clone()),
            operations,
            scripts: ScriptSet::new(scenarios),
            recorder: Recorder::new(config.record_requests),
            limiter: Limiter::new(config.rate_limit),
            batch_order: Mutex::new(SplitMix64::new(config.batch_seed)),
            batch_seed: config.batch_seed,
            latency_ms: std::sync::atomic::AtomicU64::new(
                config.latency_ms.min(crate::config::MAX_LATENCY_MS),
            ),
            config_latency_ms: config.latency_ms.min(crate::config::MAX_LATENCY_MS),
            stop: watch::Sender::new(Stop::Running),
        }
    }

    /// Shuffles `order` (Fisher-Yates) with the `$batch` generator: the same
    /// seed and the same sequence of `$batch`es give the same orders.
    pub(crate) fn shuffle(&self, order: &mut [usize]) {
        let mut rng = self.batch_order.lock().unwrap_or_else(|e| e.into_inner());
        for i in (1..order.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
    }

    /// Scenarios, records, counters, created operations, tokens, the rate
    /// limit and the `$batch` order back to the start.
    /// The pause before each Graph answer.
    pub(crate) fn latency(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.latency_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Sets the pause before each Graph answer (capped at a minute); returns it.
    pub(crate) fn set_latency_ms(&self, ms: u64) -> u64 {
        let ms = ms.min(crate::config::MAX_LATENCY_MS);
        self.latency_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
        ms
    }

    pub(crate) fn reset(&self) {
        self.set_latency_ms(self.config_latency_ms);
        self.scripts.reset();
        self.recorder.reset();
        self.operations.reset();
        self.tokens.reset();
        self.limiter.reset();
        *self.batch_order.lock().unwrap_or_else(|e| e.into_inner()) =
            SplitMix64::new(self.batch_seed);
    }

    /// Asks the server to stop; a stronger request wins over a weaker one.
    pub(crate) fn request_stop(&self, how: Stop) {
        self.stop.send_if_modified(|cur| {
            let stronger = matches!(
                (*cur, how),
                (Stop::Running, Stop::Graceful | Stop::Now) | (Stop::Graceful, Stop::Now)
            );
            if stronger {
                *cur = how;
            }
            stronger
        });
    }
}
