//! Telling members what needs them (issue 18): the SLA breach sweep, the
//! in-app notices it leaves, and SMS through Twilio (breach alerts to
//! members who opted in with a verified phone, and the phone's one-time
//! verification code), with Twilio's signed delivery-status callback.
//!
//! - [`sweep`]: the `crm.sla_sweep` job, every minute per company: one
//!   set-based `UPDATE … RETURNING` marks overdue first-response tasks
//!   breached (once), inserts their notices and the SMS rows, then
//!   enqueues one `notify.sms` job per SMS.
//! - [`notices`]: a member's unread notices (shown on `/tasks`).
//! - [`sms`]: the `notify.sms` job, sending through the adapter framework
//!   (`adapters::Adapters::call`, provider Twilio): an open breaker defers
//!   it, a Twilio outage never blocks the sweep.
//! - [`phone`]: verifying a member's phone with a 6-digit code.
//! - [`twilio`]: the status callback's signature (`X-Twilio-Signature`)
//!   and recording a message's delivery status.
//!
//! # Security
//! Phone numbers and code bodies are sealed with the workspace's data key;
//! notices and SMS rows hold ids and counts, never a lead's name. Job
//! payloads carry ids only (they are shown on `/settings/jobs`).

pub mod notices;
pub mod phone;
pub mod sms;
pub mod sweep;
pub mod twilio;

pub use sweep::{SLA_SWEEP, SlaSweep, SweepOutcome, sweep_breaches};
