//! Benchmark commands. Each prints JSON lines; every speed figure is a
//! ratio against a simple baseline measured in the same run, so that the
//! numbers mean something on any machine. Results are recorded in
//! docs/benchmarks.md.

mod http;
mod lot;
mod matching;
mod places;
mod push;
mod world;
mod writes;

use std::time::Duration;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Place search over the whole gazetteer: the prefix index against a
    /// scan of every name, and the gazetteer's load time.
    Places {
        /// Number of search queries.
        #[arg(long, default_value_t = 5000)]
        queries: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Matching over France: trips and needs drawn from real communes;
    /// every need matched through the index and by an exhaustive scan.
    Matching {
        /// Trips in the index.
        #[arg(long, default_value_t = 100_000)]
        trips: usize,
        /// Needs to match (each one timed).
        #[arg(long, default_value_t = 1000)]
        needs: usize,
        /// Needs also matched by the exhaustive scan (default: as many as
        /// fit in about 20 million trip evaluations, at least 20).
        #[arg(long)]
        scan_needs: Option<usize>,
        /// Also the reverse direction: this many open needs indexed, and
        /// new trips matched against them.
        #[arg(long, default_value_t = 0)]
        open_needs: usize,
        /// New trips matched in the reverse direction.
        #[arg(long, default_value_t = 200)]
        probe_trips: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The Lot experiment replayed: 331 drivers, 227 needs; the share of
    /// needs served by each matching lever.
    LotScenario {
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The service over HTTP on a populated Lot: rates against /healthz
    /// in the same run (matches, place search, posting trips with and
    /// without open needs on their way, sign-in under load).
    Http {
        #[arg(long, default_value_t = 20_000)]
        trips: usize,
        /// Open needs on the way of the posted trips.
        #[arg(long, default_value_t = 5_000)]
        needs: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write throughput with several instances on one database
    /// (`DATABASE_URL`; PostgreSQL for a region): trips and needs posted
    /// through one instance, then spread over all, against /healthz.
    Writes {
        #[arg(long, default_value_t = 2)]
        instances: usize,
        /// Requests in flight, in all.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Encrypted, signed Web Push messages to a local receiver, against the
    /// same number of plain POSTs.
    Push {
        #[arg(long, default_value_t = 5000)]
        count: usize,
        /// Messages in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Places { queries, seed } => places::places(queries, seed),
        BenchCommand::Matching {
            trips,
            needs,
            scan_needs,
            open_needs,
            probe_trips,
            seed,
        } => matching::matching(trips, needs, scan_needs, open_needs, probe_trips, seed),
        BenchCommand::LotScenario { seed } => lot::scenario(seed),
        BenchCommand::Push { count, concurrency } => push::push(count, concurrency).await,
        BenchCommand::Http {
            trips,
            needs,
            seconds,
            seed,
        } => http::http(trips, needs, seconds, seed).await,
        BenchCommand::Writes {
            instances,
            concurrency,
            seconds,
        } => writes::writes(instances, concurrency, seconds).await,
    }
}

/// Percentile of sorted durations, in microseconds.
fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Resident memory of this process, in MiB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Rounds to one decimal.
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
