//! The demo territory: the Lot, as in the 2019 experiment, with meeting
//! points, local place names and a few accounts with their trips, so that
//! `lotocar serve --demo` shows a living service. Seeding is idempotent:
//! running it again changes nothing.

use lotocar_shared::GeoPoint;
use lotocar_shared::api::PlaceQuery;
use lotocar_shared::contact::Contact;
use lotocar_shared::offer::{DetourTolerance, Seats};
use lotocar_shared::people::Role;
use lotocar_shared::schedule::{OfferSchedule, WeeklyTrip};
use lotocar_shared::time::{LocalTime, Weekday, Weekdays};
use sqlx::Row;

use crate::auth;
use crate::places;
use crate::state::AppState;
use crate::territories::{self, Territory};
use crate::trips::{Endpoints, insert_offer};

/// A demo account: who they are and what they drive, if anything.
pub struct DemoAccount {
    pub contact: &'static str,
    pub name: &'static str,
    pub role: Option<Role>,
    pub shares_phone: bool,
}

/// Listed in the README; sign in with these contacts (codes appear in the
/// log, and in the API response with `--dev`).
pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        contact: "+33600000001",
        name: "Marie Dupont",
        role: None,
        shares_phone: true,
    },
    DemoAccount {
        contact: "+33600000002",
        name: "Jean Martin",
        role: None,
        shares_phone: true,
    },
    DemoAccount {
        contact: "+33600000003",
        name: "Sophie Bernard",
        role: None,
        shares_phone: false,
    },
    DemoAccount {
        contact: "+33600000004",
        name: "Paul Roques",
        role: None,
        shares_phone: true,
    },
    DemoAccount {
        contact: "+33600000010",
        name: "Lucie Moreau",
        role: None,
        shares_phone: false,
    },
    DemoAccount {
        contact: "relais.gramat@example.fr",
        name: "France Services Gramat",
        role: Some(Role::Relay),
        shares_phone: false,
    },
    DemoAccount {
        contact: "coordination@example.fr",
        name: "Coordination Lot'ô car",
        role: Some(Role::Coordinator),
        shares_phone: false,
    },
];

/// Meeting points (approximate positions, for the demo).
pub const MEETING_POINTS: &[(&str, f64, f64)] = &[
    ("Cahors, gare SNCF", 44.4490, 1.4342),
    ("Cahors, centre hospitalier", 44.4535, 1.4436),
    ("Figeac, hôpital", 44.6096, 2.0350),
    ("Figeac, gare", 44.6033, 2.0401),
    ("Gramat, place de la République", 44.7800, 1.7253),
    ("Gourdon, gare", 44.7333, 1.3834),
    ("Souillac, gare", 44.8937, 1.4787),
    ("Livernon, carrefour de la D840", 44.6460, 1.8440),
];

/// Local names: what people say → the place they mean.
const ALIASES: &[(&str, &str)] = &[
    // For people around Figeac, "Villeneuve" is the Aveyron town next door,
    // not one of the five other Villeneuve of France.
    ("Villeneuve", "commune:12301"),
    ("Montcuq", "commune:46201"),
    ("Labastide", "deleguee:46138"),
    ("Lacapelle", "commune:46143"),
    ("Saint-Cirq", "commune:46256"),
];

/// Regular trips of the demo drivers: (driver contact, from, to, weekdays,
/// departure, return, seats, detour).
#[allow(clippy::type_complexity)]
const TRIPS: &[(
    &str,
    &str,
    &str,
    &[Weekday],
    (u32, u32),
    Option<(u32, u32)>,
    i64,
    i64,
)] = &[
    (
        "+33600000001",
        "commune:46042",
        "commune:46102",
        &[
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ],
        (7, 30),
        Some((17, 30)),
        3,
        15,
    ),
    (
        "+33600000002",
        "commune:46127",
        "commune:46042",
        &[
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ],
        (7, 45),
        Some((17, 15)),
        2,
        10,
    ),
    (
        "+33600000003",
        "commune:46309",
        "commune:46128",
        &[Weekday::Tue, Weekday::Thu],
        (8, 30),
        Some((12, 0)),
        3,
        20,
    ),
    (
        "+33600000004",
        "commune:46143",
        "commune:46102",
        &[Weekday::Mon, Weekday::Wed, Weekday::Fri],
        (8, 0),
        Some((12, 30)),
        2,
        15,
    ),
];

pub fn lot() -> Territory {
    Territory {
        id: "lot".into(),
        name: "Lot".into(),
        brand: "Lot'ô car".into(),
        departements: vec!["46".into()],
        timezone: chrono_tz::Europe::Paris,
    }
}

pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    let db = &state.db;
    let territory = lot();
    territories::upsert(db, &territory).await?;
    for (name, lat, lon) in MEETING_POINTS {
        places::upsert_meeting_point(
            db,
            &state.places,
            &territory.id,
            name,
            GeoPoint::new(*lat, *lon)?,
        )
        .await?;
    }
    for (alias, place_id) in ALIASES {
        places::upsert_alias(db, &territory.id, alias, place_id).await?;
    }
    for account in ACCOUNTS {
        let contact: Contact = account.contact.parse().map_err(anyhow::Error::msg)?;
        let user_id = auth::find_or_create_user(db, &contact).await?;
        auth::set_display_name(db, &user_id, account.name).await?;
        sqlx::query("UPDATE users SET share_phone = $2 WHERE id = $1")
            .bind(&user_id)
            .bind(i64::from(account.shares_phone))
            .execute(&db.writer)
            .await?;
        if let Some(role) = account.role {
            auth::grant_role(db, &contact, role, &territory.id).await?;
        }
    }
    let today = crate::db::now()
        .with_timezone(&territory.timezone)
        .date_naive();
    for (contact, from, to, days, departure, ret, seats, detour) in TRIPS {
        let contact: Contact = contact.parse().map_err(anyhow::Error::msg)?;
        let owner = auth::find_or_create_user(db, &contact).await?;
        let has_trips: i64 = sqlx::query("SELECT COUNT(*) AS n FROM offers WHERE owner_id = $1")
            .bind(&owner)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
        if has_trips > 0 {
            continue;
        }
        let endpoints = Endpoints::resolve(
            state,
            &PlaceQuery::Id((*from).into()),
            &PlaceQuery::Id((*to).into()),
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo trip {from} → {to}: {e}"))?;
        let time = |(h, m): (u32, u32)| LocalTime::new(h, m).expect("demo times are valid");
        let schedule = OfferSchedule::Weekly(WeeklyTrip::new(
            Weekdays::new(days.iter().copied()).expect("demo days"),
            time(*departure),
            ret.map(time),
            today,
            None,
            Vec::new(),
        )?);
        let mut tx = db.begin_write().await?;
        insert_offer(
            &mut tx,
            &owner,
            &endpoints,
            &schedule,
            Seats::new(*seats).map_err(anyhow::Error::msg)?,
            DetourTolerance::new(*detour).map_err(anyhow::Error::msg)?,
            territory.timezone,
        )
        .await?;
        tx.commit().await?;
    }
    tracing::info!(
        territory = %territory.brand,
        meeting_points = MEETING_POINTS.len(),
        aliases = ALIASES.len(),
        accounts = ACCOUNTS.len(),
        "demo territory ready"
    );
    Ok(())
}
