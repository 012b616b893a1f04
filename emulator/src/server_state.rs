//! What one running emulator shares between its connections: the tokens, the
//! operations, the scenarios, the recorder, and the stop signal.

use std::sync::Arc;

use tokio::sync::watch;

use crate::operations::OperationStore;
use crate::playback::ScriptSet;
use crate::prepared::Compiled;
use crate::recorder::Recorder;
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
    pub stop: watch::Sender<Stop>,
}

impl State {
    pub(crate) fn new(
        token: String,
        operations: OperationStore,
        scenarios: Vec<Arc<Compiled>>,
        record: bool,
    ) -> State {
        State {
            tokens: Tokens::new(token),
            operations,
            scripts: ScriptSet::new(scenarios),
            recorder: Recorder::new(record),
            stop: watch::Sender::new(Stop::Running),
        }
    }

    /// Scenarios, records, counters, created operations and tokens back to
    /// the start.
    pub(crate) fn reset(&self) {
        self.scripts.reset();
        self.recorder.reset();
        self.operations.reset();
        self.tokens.reset();
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
