//! The adapter framework (issue 18) against a real PostgreSQL and a tiny
//! local HTTP server: the breaker's states with a stepped clock, its
//! state shared by two pools ("workers"), Retry-After honoured in the
//! call and by the job's next run, an open breaker deferring a job
//! without using an attempt, and the integrations' sealed credentials
//! kept per workspace. The shared fixtures are in [`stub`].

mod breaker;
mod credentials;
mod jobs;
mod stub;
