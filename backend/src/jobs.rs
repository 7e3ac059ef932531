//! Scheduled jobs, run by every instance on its own timer (each step is
//! safe to run on two instances at once): the bookings' housekeeping
//! (validation after 48 hours, regular bookings extended) and the
//! retention purge. Reminders are planned notifications (`deliver_after`),
//! sent by the dispatcher when due.

use std::time::Duration;

use crate::trips::Trips;

/// How often the jobs run.
const EVERY: Duration = Duration::from_secs(30);

/// What the jobs work with.
#[derive(Clone)]
pub struct Jobs {
    pub trips: Trips,
    /// Months of inactivity after which personal data is erased.
    pub retention_months: u32,
}

impl Jobs {
    /// Runs every job once.
    pub async fn run_once(&self) {
        if let Err(err) = self.trips.bookings.housekeeping().await {
            tracing::warn!(error = %err, "housekeeping failed");
        }
        if let Err(err) = crate::privacy::purge_inactive(&self.trips, self.retention_months).await {
            tracing::warn!(error = %err, "retention purge failed");
        }
        let forgotten = match self.trips.db.write_conn(crate::db::Lane::Bulk).await {
            Ok(mut conn) => crate::news::forget_closed(&mut conn).await,
            Err(err) => Err(err),
        };
        if let Err(err) = forgotten {
            tracing::warn!(error = %err, "driver news purge failed");
        }
        // Sign-in limits count over an hour: a day of hits is plenty.
        if let Err(err) = crate::auth::sign_in::purge_expired(&self.trips.db, 24 * 3_600_000).await
        {
            tracing::warn!(error = %err, "sign-in purge failed");
        }
    }
}

/// Runs the jobs until the process ends.
pub async fn run(jobs: Jobs) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        jobs.run_once().await;
    }
}
