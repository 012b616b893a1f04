//! Many operations followed at once: a pacing scheduler under a rate budget, over
//! Graph JSON batching.

mod pacer;
mod queue;
mod wire;
