//! Request and response bodies of the public HTTP API (`/api/v1`), as in
//! the API contract. Inputs are read leniently and then validated into
//! domain values with every faulty field reported at once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::Contact;
use crate::geo::GeoPoint;
use crate::need::{NeedStatus, Purpose};
use crate::offer::{DetourClass, DetourTolerance, Seats};
use crate::people::{Channel, DisplayName, Role};
use crate::schedule::{NeedSchedule, NeedScheduleInput, OfferSchedule, OfferScheduleInput};
use crate::validation::{FieldError, Invalid};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// RFC 9457 problem details, with a French `detail` a person can act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One entry per faulty field, for validation errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// A stable machine-readable reason (`status_already_set`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

// ---------------------------------------------------------------------------
// Sign-in and profile
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthStart {
    /// A mobile phone number or an e-mail address.
    #[cfg_attr(feature = "openapi", schema(example = "+33612345678"))]
    pub contact: String,
}

impl AuthStart {
    pub fn validate(&self) -> Result<Contact, Invalid> {
        self.contact
            .parse()
            .map_err(|message: String| Invalid::field("contact", message))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthStarted {
    /// What happens next, in French.
    pub message: String,
    pub expires_in_seconds: u32,
    /// The code itself, only when the server runs with `--dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthVerify {
    pub contact: String,
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: String,
}

impl AuthVerify {
    pub fn validate(&self) -> Result<(Contact, String), Invalid> {
        let mut invalid = Invalid::new();
        let contact = invalid.check(
            "",
            self.contact
                .parse::<Contact>()
                .map_err(|m| Invalid::field("contact", m)),
        );
        let code: String = self.code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            invalid.push("code", "Le code doit comporter 6 chiffres.");
        }
        match contact {
            Some(contact) if invalid.is_empty() => Ok((contact, code)),
            _ => Err(invalid),
        }
    }
}

/// A role granted in a territory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleGrant {
    pub role: Role,
    pub territory_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: String,
    pub display_name: String,
    pub roles: Vec<RoleGrant>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthSession {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    pub user: UserSummary,
}

/// One's own profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<RoleGrant>,
    /// How to be told about trips.
    pub preferred_channel: Channel,
    /// Consent to show my phone to the other party of a confirmed booking.
    pub share_phone: bool,
    /// Consent to show my e-mail to the other party of a confirmed booking.
    pub share_email: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub display_name: Option<String>,
    pub preferred_channel: Option<Channel>,
    pub share_phone: Option<bool>,
    pub share_email: Option<bool>,
}

/// A checked [`MePatch`].
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: Option<DisplayName>,
    pub preferred_channel: Option<Channel>,
    pub share_phone: Option<bool>,
    pub share_email: Option<bool>,
}

impl MePatch {
    pub fn validate(&self) -> Result<ProfileChange, Invalid> {
        let mut invalid = Invalid::new();
        let display_name = match &self.display_name {
            Some(name) => match DisplayName::new(name) {
                Ok(name) => Some(name),
                Err(message) => {
                    invalid.push("display_name", message);
                    None
                }
            },
            None => None,
        };
        invalid.finish(|| ProfileChange {
            display_name,
            preferred_channel: self.preferred_channel,
            share_phone: self.share_phone,
            share_email: self.share_email,
        })
    }
}

// ---------------------------------------------------------------------------
// Places
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PlaceKind {
    /// A current commune.
    Commune,
    /// A former commune merged into a "commune nouvelle", still a name people use.
    Deleguee,
    /// A former commune associated with another.
    Associee,
    /// A meeting point chosen by the territory (station, hospital, square).
    MeetingPoint,
}

/// A place found by search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Place {
    #[cfg_attr(feature = "openapi", schema(example = "commune:46102"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Figeac"))]
    pub name: String,
    /// INSEE code of the commune the place is in.
    pub insee: Option<String>,
    pub kind: PlaceKind,
    pub lat: f64,
    pub lon: f64,
    /// How to show it in a list: "Figeac (46100)".
    pub label: String,
    pub departement: Option<String>,
    pub population: Option<u32>,
    /// The local name that matched, when the place was found by an alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// A place in a request body: `{"place_id": …}` or `{"lat", "lon", "label"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A checked [`PlaceInput`], to resolve against the places the server knows.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceQuery {
    Id(String),
    Point { point: GeoPoint, label: String },
}

impl PlaceInput {
    pub fn id(id: impl Into<String>) -> Self {
        PlaceInput {
            place_id: Some(id.into()),
            ..Default::default()
        }
    }

    pub fn validate(&self) -> Result<PlaceQuery, Invalid> {
        match (&self.place_id, self.lat, self.lon) {
            (Some(id), None, None) => {
                let id = id.trim();
                if id.is_empty() || id.len() > 100 {
                    Err(Invalid::field(
                        "place_id",
                        "Choisissez un lieu dans la liste.",
                    ))
                } else {
                    Ok(PlaceQuery::Id(id.to_string()))
                }
            }
            (None, Some(lat), Some(lon)) => {
                let mut invalid = Invalid::new();
                let point = invalid.check("", GeoPoint::new(lat, lon));
                let label = self.label.as_deref().unwrap_or("").trim().to_string();
                if label.is_empty() {
                    invalid.push(
                        "label",
                        "Donnez un nom à ce lieu, par exemple « devant la mairie ».",
                    );
                } else if label.chars().count() > 120 {
                    invalid.push(
                        "label",
                        "Le nom du lieu est trop long : 120 caractères au plus.",
                    );
                }
                match point {
                    Some(point) if invalid.is_empty() => Ok(PlaceQuery::Point { point, label }),
                    _ => Err(invalid),
                }
            }
            _ => Err(Invalid::field(
                "",
                "Lieu manquant ou incomplet : choisissez un lieu dans la liste.",
            )),
        }
    }
}

/// A place as stored on a trip or a need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TripPlace {
    /// The known place it was chosen from, if any.
    pub place_id: Option<String>,
    pub label: String,
    pub insee: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

impl TripPlace {
    pub fn point(&self) -> GeoPoint {
        GeoPoint::new(self.lat, self.lon).expect("stored places are valid points")
    }
}

// ---------------------------------------------------------------------------
// Offers (a driver's trip)
// ---------------------------------------------------------------------------

fn default_offer_seats() -> i64 {
    3
}

fn default_detour() -> i64 {
    DetourTolerance::DEFAULT.minutes().into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    pub origin: PlaceInput,
    pub destination: PlaceInput,
    pub schedule: OfferScheduleInput,
    #[serde(default = "default_offer_seats")]
    #[cfg_attr(feature = "openapi", schema(example = 3, minimum = 1, maximum = 8))]
    pub seats: i64,
    #[serde(default = "default_detour")]
    #[cfg_attr(feature = "openapi", schema(example = 15, minimum = 0, maximum = 60))]
    pub max_detour_minutes: i64,
}

/// A checked [`OfferInput`]; its places remain to be resolved.
#[derive(Debug, Clone)]
pub struct OfferDraft {
    pub origin: PlaceQuery,
    pub destination: PlaceQuery,
    pub schedule: OfferSchedule,
    pub seats: Seats,
    pub max_detour: DetourTolerance,
}

fn check_range<T>(invalid: &mut Invalid, field: &str, result: Result<T, String>) -> Option<T> {
    result.map_err(|m| invalid.push(field, m)).ok()
}

impl OfferInput {
    pub fn validate(&self) -> Result<OfferDraft, Invalid> {
        let mut invalid = Invalid::new();
        let origin = invalid.check("origin", self.origin.validate());
        let destination = invalid.check("destination", self.destination.validate());
        let schedule = invalid.check("schedule", self.schedule.clone().try_into());
        let seats = check_range(&mut invalid, "seats", Seats::new(self.seats));
        let max_detour = check_range(
            &mut invalid,
            "max_detour_minutes",
            DetourTolerance::new(self.max_detour_minutes),
        );
        match (origin, destination, schedule, seats, max_detour) {
            (Some(origin), Some(destination), Some(schedule), Some(seats), Some(max_detour))
                if invalid.is_empty() =>
            {
                Ok(OfferDraft {
                    origin,
                    destination,
                    schedule,
                    seats,
                    max_detour,
                })
            }
            _ => Err(invalid),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfferPatch {
    /// Pause (true) or resume (false) the whole trip.
    pub paused: Option<bool>,
    pub seats: Option<i64>,
    pub max_detour_minutes: Option<i64>,
    /// New times: replaces the whole schedule.
    pub schedule: Option<OfferScheduleInput>,
}

/// A checked [`OfferPatch`].
#[derive(Debug, Clone, Default)]
pub struct OfferChange {
    pub paused: Option<bool>,
    pub seats: Option<Seats>,
    pub max_detour: Option<DetourTolerance>,
    pub schedule: Option<OfferSchedule>,
}

impl OfferPatch {
    pub fn validate(&self) -> Result<OfferChange, Invalid> {
        let mut invalid = Invalid::new();
        let seats = self
            .seats
            .and_then(|n| check_range(&mut invalid, "seats", Seats::new(n)));
        let max_detour = self
            .max_detour_minutes
            .and_then(|n| check_range(&mut invalid, "max_detour_minutes", DetourTolerance::new(n)));
        let schedule = self
            .schedule
            .clone()
            .and_then(|s| invalid.check("schedule", s.try_into()));
        if self.paused.is_none()
            && self.seats.is_none()
            && self.max_detour_minutes.is_none()
            && self.schedule.is_none()
        {
            invalid.push(
                "",
                "Rien à modifier : indiquez paused, seats, max_detour_minutes ou schedule.",
            );
        }
        invalid.finish(|| OfferChange {
            paused: self.paused,
            seats,
            max_detour,
            schedule,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    pub id: String,
    pub origin: TripPlace,
    pub destination: TripPlace,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schedule::OfferScheduleWire))]
    pub schedule: OfferSchedule,
    pub seats: i64,
    pub max_detour_minutes: i64,
    pub paused: bool,
    /// The trip in one French sentence.
    pub summary: String,
    pub territory_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------
// Needs (a passenger's request)
// ---------------------------------------------------------------------------

fn default_need_seats() -> i64 {
    1
}

fn default_purpose() -> Purpose {
    Purpose::Other
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NeedInput {
    pub origin: PlaceInput,
    pub destination: PlaceInput,
    pub schedule: NeedScheduleInput,
    #[serde(default = "default_need_seats")]
    #[cfg_attr(feature = "openapi", schema(example = 1, minimum = 1, maximum = 8))]
    pub seats: i64,
    #[serde(default = "default_purpose")]
    pub purpose: Purpose,
    /// A beneficiary registered by a relay, when the relay posts for them.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
}

/// A checked [`NeedInput`]; its places remain to be resolved.
#[derive(Debug, Clone)]
pub struct NeedDraft {
    pub origin: PlaceQuery,
    pub destination: PlaceQuery,
    pub schedule: NeedSchedule,
    pub seats: Seats,
    pub purpose: Purpose,
    pub on_behalf_of: Option<String>,
}

impl NeedInput {
    pub fn validate(&self) -> Result<NeedDraft, Invalid> {
        let mut invalid = Invalid::new();
        let origin = invalid.check("origin", self.origin.validate());
        let destination = invalid.check("destination", self.destination.validate());
        let schedule = invalid.check("schedule", self.schedule.clone().try_into());
        let seats = check_range(&mut invalid, "seats", Seats::new(self.seats));
        match (origin, destination, schedule, seats) {
            (Some(origin), Some(destination), Some(schedule), Some(seats))
                if invalid.is_empty() =>
            {
                Ok(NeedDraft {
                    origin,
                    destination,
                    schedule,
                    seats,
                    purpose: self.purpose,
                    on_behalf_of: self.on_behalf_of.clone(),
                })
            }
            _ => Err(invalid),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NeedPatch {
    /// New times: replaces the whole schedule.
    pub schedule: Option<NeedScheduleInput>,
    pub seats: Option<i64>,
    pub purpose: Option<Purpose>,
}

/// A checked [`NeedPatch`].
#[derive(Debug, Clone, Default)]
pub struct NeedChange {
    pub schedule: Option<NeedSchedule>,
    pub seats: Option<Seats>,
    pub purpose: Option<Purpose>,
}

impl NeedPatch {
    pub fn validate(&self) -> Result<NeedChange, Invalid> {
        let mut invalid = Invalid::new();
        let seats = self
            .seats
            .and_then(|n| check_range(&mut invalid, "seats", Seats::new(n)));
        let schedule = self
            .schedule
            .clone()
            .and_then(|s| invalid.check("schedule", s.try_into()));
        if self.schedule.is_none() && self.seats.is_none() && self.purpose.is_none() {
            invalid.push("", "Rien à modifier : indiquez schedule, seats ou purpose.");
        }
        invalid.finish(|| NeedChange {
            schedule,
            seats,
            purpose: self.purpose,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Need {
    pub id: String,
    pub origin: TripPlace,
    pub destination: TripPlace,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schedule::NeedScheduleWire))]
    pub schedule: NeedSchedule,
    pub seats: i64,
    pub purpose: Purpose,
    pub status: NeedStatus,
    pub on_behalf_of: Option<String>,
    /// The beneficiary's name, for the relays and coordinators of their
    /// territory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary_name: Option<String>,
    /// What became of it, once recorded.
    #[serde(default)]
    pub outcome: Option<crate::relay::RecordedOutcome>,
    /// The need in one French sentence.
    pub summary: String,
    pub territory_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A place and the local time the passenger is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchStop {
    pub place: TripPlace,
    /// Local clock time, "HH:MM".
    #[cfg_attr(feature = "openapi", schema(example = "07:42"))]
    pub time: String,
    /// The same instant, RFC 3339.
    pub at: DateTime<chrono::FixedOffset>,
}

impl MatchStop {
    /// "7 h 42".
    pub fn time_spoken(&self) -> String {
        self.time
            .parse::<crate::time::LocalTime>()
            .map(|t| t.spoken())
            .unwrap_or_else(|_| self.time.clone())
    }
}

/// The other party as shown before any booking: first name and initial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicPerson {
    #[cfg_attr(feature = "openapi", schema(example = "Marie D."))]
    pub display_name: String,
}

/// Which leg of the trip a match is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Leg {
    Outbound,
    Return,
}

impl Leg {
    pub fn code(self) -> &'static str {
        match self {
            Leg::Outbound => "outbound",
            Leg::Return => "return",
        }
    }

    pub fn from_code(code: &str) -> Option<Leg> {
        [Leg::Outbound, Leg::Return]
            .into_iter()
            .find(|l| l.code() == code)
    }
}

/// A trip that can take the passenger, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Match {
    pub offer_id: String,
    pub request_id: String,
    /// The first date it works; for weekly needs see `weekdays` and `dates`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// The driver's leg: the outbound trip or its return.
    pub leg: Leg,
    /// The passenger's leg: the outbound need or its return.
    pub need_leg: Leg,
    pub pickup: MatchStop,
    pub dropoff: MatchStop,
    /// Minutes the driver adds to their trip.
    pub detour_minutes: f64,
    pub detour_class: DetourClass,
    /// Metres the passenger walks to and from meeting points.
    pub walk_meters: u32,
    pub driver: PublicPerson,
    /// The passenger, when the driver looks at who needs a seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passenger: Option<PublicPerson>,
    /// For a weekly need against a weekly trip: the weekdays both share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<crate::time::Weekday>,
    /// Upcoming dates it works on (at most a few weeks ahead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub dates: Vec<NaiveDate>,
    /// Seats still free on `date`.
    pub seats_left: i64,
    /// Lower is better: detour first, then time deviation.
    pub score: f64,
    /// The match in one French sentence.
    pub explanation: String,
}

/// A need as created: the request and its matches, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeedCreated {
    #[serde(flatten)]
    pub request: Need,
    pub matches: Vec<Match>,
}

// ---------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------

/// Something a person is told. Delivered at least once, by several
/// channels: the `id` lets an app show it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: String,
    /// What happened: `new_driver`, `booking_requested`, `booking_confirmed`, …
    pub kind: String,
    /// French, short.
    pub title: String,
    /// French, one or two sentences.
    pub body: String,
    /// Where in the app to look.
    pub url: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// The server's VAPID public key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKey {
    /// Base64url, uncompressed P-256 point.
    pub key: String,
}

/// A browser's PushSubscription, as `JSON.stringify(subscription)` gives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscriptionInput {
    pub endpoint: String,
    pub keys: PushKeys,
    /// Sent by browsers; not used.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// A checked [`PushSubscriptionInput`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

fn base64url_len(text: &str) -> Option<usize> {
    let valid = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=');
    valid.then(|| text.trim_end_matches('=').len() * 3 / 4)
}

impl PushSubscriptionInput {
    pub fn validate(&self) -> Result<CheckedSubscription, Invalid> {
        let mut invalid = Invalid::new();
        let endpoint = self.endpoint.trim();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
            || endpoint.len() > 2000
        {
            invalid.push(
                "endpoint",
                "Adresse d'abonnement invalide : une adresse https:// est attendue.",
            );
        }
        if base64url_len(self.keys.p256dh.trim()) != Some(65) {
            invalid.push(
                "keys.p256dh",
                "Clé p256dh invalide : 65 octets en base64url sont attendus.",
            );
        }
        if base64url_len(self.keys.auth.trim()) != Some(16) {
            invalid.push(
                "keys.auth",
                "Secret auth invalide : 16 octets en base64url sont attendus.",
            );
        }
        invalid.finish(|| CheckedSubscription {
            endpoint: endpoint.to_string(),
            p256dh: self.keys.p256dh.trim().trim_end_matches('=').to_string(),
            auth: self.keys.auth.trim().trim_end_matches('=').to_string(),
        })
    }
}

/// A registered push subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscription {
    pub id: String,
    pub endpoint: String,
}

// ---------------------------------------------------------------------------
// Bookings
// ---------------------------------------------------------------------------

/// A passenger asks for a seat on a trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub request_id: String,
    pub offer_id: String,
    /// The date of the trip (for a regular need on a regular trip: the
    /// first date; the booking covers every shared weekday).
    #[serde(deserialize_with = "crate::schedule::de_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// Which leg of the need: the way out (default) or the way back.
    #[serde(default = "default_leg")]
    pub need_leg: Leg,
}

fn default_leg() -> Leg {
    Leg::Outbound
}

/// A status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BookingPatch {
    pub status: crate::booking::BookingStatus,
    /// Why (a refusal, a cancellation): shown to the other party.
    #[serde(default)]
    pub reason: Option<String>,
}

impl BookingPatch {
    /// The reason, tidied; at most 300 characters.
    pub fn reason(&self) -> Result<Option<String>, Invalid> {
        let Some(reason) = self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        else {
            return Ok(None);
        };
        if reason.chars().count() > 300 {
            return Err(Invalid::field(
                "reason",
                "La raison est trop longue : 300 caractères au plus.",
            ));
        }
        Ok(Some(reason.to_string()))
    }
}

/// One date of a booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingDate {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// `active` or `cancelled`.
    pub status: String,
}

/// The other party's contact details, when they may be shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDetails {
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// One showing of my contact details to someone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactReveal {
    pub booking_id: String,
    pub viewer: PublicPerson,
    /// `phone`, `email`.
    pub fields: Vec<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Booking {
    pub id: String,
    pub offer_id: String,
    pub request_id: String,
    pub status: crate::booking::BookingStatus,
    /// The status in plain French.
    pub status_label: String,
    /// The caller's side: `driver` or `passenger`.
    pub role: String,
    /// Every shared weekday of a regular trip, or one date.
    pub recurring: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    pub dates: Vec<BookingDate>,
    pub leg: Leg,
    pub need_leg: Leg,
    pub seats: i64,
    pub pickup: MatchStop,
    pub dropoff: MatchStop,
    pub detour_minutes: f64,
    pub driver: PublicPerson,
    pub passenger: PublicPerson,
    /// The other party's phone or e-mail: only on a confirmed booking, and
    /// only what they agreed to share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactDetails>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------

/// What changed for me since a cursor: every entity I can see, in the
/// order the changes were made; deletions included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPage {
    /// Give it back as `since` next time.
    pub cursor: String,
    pub changes: Vec<SyncChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SyncChange {
    /// One of my trips; `offer` is absent when it was deleted.
    Offer {
        id: String,
        deleted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offer: Option<Box<Offer>>,
    },
    Request {
        id: String,
        request: Box<Need>,
    },
    Booking {
        id: String,
        booking: Box<Booking>,
    },
    Notification {
        id: String,
        notification: Notification,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer_json(extra: &str) -> String {
        format!(
            r#"{{"origin":{{"place_id":"commune:46042"}},"destination":{{"place_id":"commune:46102"}},
            "schedule":{{"kind":"weekly","weekdays":["mon"],"departure_time":"07:30","from":"2026-12-01"}}{extra}}}"#
        )
    }

    #[test]
    fn an_offer_reports_every_faulty_field() {
        let input: OfferInput =
            serde_json::from_str(&offer_json(r#","seats":0,"max_detour_minutes":90"#)).unwrap();
        let invalid = input.validate().unwrap_err();
        let fields: Vec<&str> = invalid.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["seats", "max_detour_minutes"]);
        assert!(invalid.errors.iter().all(|e| !e.message.is_empty()));
    }

    #[test]
    fn an_offer_defaults_to_three_seats_and_fifteen_minutes() {
        let input: OfferInput = serde_json::from_str(&offer_json("")).unwrap();
        let draft = input.validate().unwrap();
        assert_eq!(draft.seats.get(), 3);
        assert_eq!(draft.max_detour.minutes(), 15);
    }

    #[test]
    fn places_need_an_id_or_a_labelled_point() {
        assert!(PlaceInput::default().validate().is_err());
        let point = PlaceInput {
            lat: Some(44.6),
            lon: Some(2.03),
            ..Default::default()
        };
        assert_eq!(point.validate().unwrap_err().errors[0].field, "label");
        let both = PlaceInput {
            place_id: Some("commune:46102".into()),
            lat: Some(44.6),
            lon: Some(2.03),
            label: None,
        };
        assert!(both.validate().is_err());
    }

    #[test]
    fn sign_in_codes_are_six_digits() {
        let ok = AuthVerify {
            contact: "06 12 34 56 78".into(),
            code: "123 456".into(),
        };
        assert_eq!(ok.validate().unwrap().1, "123456");
        let bad = AuthVerify {
            contact: "nope".into(),
            code: "12a".into(),
        };
        assert_eq!(bad.validate().unwrap_err().errors.len(), 2);
    }
}
