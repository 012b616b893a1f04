//! Many operations followed at once: a pacing scheduler under a rate budget, over
//! Graph JSON batching.

// The scheduler that uses these pieces is being written; until then they are
// exercised by their unit tests only.
#![allow(dead_code)]

mod pacer;
mod queue;
mod wire;
