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

use crate::auth::accounts;
use crate::offers::{self, NewOffer};
use crate::places::{Endpoints, local};
use crate::state::AppState;
use crate::territories::Territory;

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
    state.territories.save(&territory).await?;
    for (name, lat, lon) in MEETING_POINTS {
        local::save_meeting_point(
            &db.writer,
            &state.places.gazetteer,
            &territory.id,
            name,
            GeoPoint::new(*lat, *lon)?,
        )
        .await?;
    }
    for (alias, place_id) in ALIASES {
        local::save_alias(&db.writer, &territory.id, alias, place_id).await?;
    }
    for account in ACCOUNTS {
        let contact: Contact = account.contact.parse().map_err(anyhow::Error::msg)?;
        let user_id = accounts::find_or_create(db, &contact).await?;
        accounts::set_name_and_sharing(db, &user_id, account.name, account.shares_phone).await?;
        if let Some(role) = account.role {
            accounts::grant_role(db, &contact, role, &territory.id).await?;
        }
    }
    let today = crate::db::now()
        .with_timezone(&territory.timezone)
        .date_naive();
    for (contact, from, to, days, departure, ret, seats, detour) in TRIPS {
        let contact: Contact = contact.parse().map_err(anyhow::Error::msg)?;
        let owner = accounts::find_or_create(db, &contact).await?;
        if offers::count_of(db, &owner).await? > 0 {
            continue;
        }
        let ends = Endpoints::resolve(
            &state.places,
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
        offers::insert(
            &mut tx,
            NewOffer {
                owner_id: &owner,
                ends: &ends,
                schedule: &schedule,
                seats: Seats::new(*seats).map_err(anyhow::Error::msg)?,
                max_detour: DetourTolerance::new(*detour).map_err(anyhow::Error::msg)?,
            },
            territory.timezone,
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo trip {from} → {to}: {e}"))?;
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
