//! The app's only way to the backend: its HTTP API.

use std::time::Duration;

use lotocar_shared::api::{
    AuthSession, AuthStart, AuthStarted, AuthVerify, Booking, BookingInput, BookingPatch, Match,
    Me, MePatch, Need, NeedCreated, NeedInput, Notification, Offer, OfferInput, OfferPatch, Place,
    Problem, PushKey, SyncPage,
};
use lotocar_shared::coordination::{
    Alias, AliasInput, BoardEntry, MeetingPoint, MeetingPointInput, ProposalInput, StaffInput,
    StaffMember, UnmetCorridor,
};
use lotocar_shared::rating::{HideRating, Rating, RatingInput, StaffRating};
use lotocar_shared::relay::{Beneficiary, BeneficiaryInput, OutcomeInput};
use lotocar_shared::reporting::{AuditEntry, Impact, RegistryExport, Usage};
use lotocar_shared::validation::FieldError;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call did not give what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No network, or the server cannot be reached: try again later.
    #[error("hors ligne")]
    Offline,
    /// The server said no, with its reasons (problem details).
    #[error("{}", .0.detail)]
    Problem(Problem),
    /// Anything else (a bug, an unreadable answer).
    #[error("{0}")]
    Unexpected(String),
}

impl ApiError {
    /// What to tell the person, in French.
    pub fn message(&self) -> String {
        match self {
            ApiError::Offline => "Hors ligne : vérifiez la connexion, puis réessayez.".into(),
            // A validation problem: the fields' own messages, which say
            // what to fix (the summary only points at them).
            ApiError::Problem(problem) if !problem.errors.is_empty() => problem
                .errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            ApiError::Problem(problem) => problem.detail.clone(),
            ApiError::Unexpected(_) => {
                "Une erreur inattendue s'est produite. Réessayez dans un moment.".into()
            }
        }
    }

    /// The faulty fields of a validation problem.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            ApiError::Problem(problem) => problem.errors.clone(),
            _ => Vec::new(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Problem(problem) => Some(problem.status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Problem(problem) => problem.code.as_deref(),
            _ => None,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A client of one backend, signed in or not.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    /// The web shell: the browser it serves, passed on to the server so
    /// that limits count that person, not the shell.
    on_behalf: Option<OnBehalf>,
}

/// The browser a web shell session serves, and the key that makes the
/// server believe it (the server's own shell only).
#[derive(Clone, Debug, PartialEq)]
pub struct OnBehalf {
    pub client: String,
    pub key: String,
}

impl PartialEq for Api {
    fn eq(&self, other: &Self) -> bool {
        self.base == other.base && self.token == other.token
    }
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_string(),
            token: None,
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(20))
                .build()
                .expect("an HTTP client"),
            on_behalf: None,
        }
    }

    /// The same client, speaking for the browser a web shell serves.
    pub fn on_behalf_of(self, on_behalf: Option<OnBehalf>) -> Api {
        Api { on_behalf, ..self }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn with_token(&self, token: Option<String>) -> Api {
        Api {
            token,
            ..self.clone()
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Sends a request; `key` goes as `Idempotency-Key`.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        key: Option<&str>,
    ) -> ApiResult<Vec<u8>> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(on_behalf) = &self.on_behalf {
            request = request
                .header("x-lotocar-shell-client", &on_behalf.client)
                .header("x-lotocar-shell-key", &on_behalf.key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|err| {
            if err.is_connect() || err.is_timeout() || err.is_request() {
                ApiError::Offline
            } else {
                ApiError::Unexpected(err.to_string())
            }
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|_| ApiError::Offline)?
            .to_vec();
        if status.is_success() {
            return Ok(bytes);
        }
        if status == StatusCode::BAD_GATEWAY || status == StatusCode::GATEWAY_TIMEOUT {
            return Err(ApiError::Offline);
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => Err(ApiError::Problem(problem)),
            Err(_) => Err(ApiError::Unexpected(format!("HTTP {status}"))),
        }
    }

    async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        key: Option<&str>,
    ) -> ApiResult<T> {
        let bytes = self.send(method, path, body, key).await?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Unexpected(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        self.json::<T, ()>(Method::GET, path, None, None).await
    }

    // Sign-in and profile

    pub async fn start_sign_in(&self, contact: &str) -> ApiResult<AuthStarted> {
        let body = AuthStart {
            contact: contact.to_string(),
        };
        self.json(Method::POST, "/api/v1/auth/start", Some(&body), None)
            .await
    }

    pub async fn verify(&self, contact: &str, code: &str) -> ApiResult<AuthSession> {
        let body = AuthVerify {
            contact: contact.to_string(),
            code: code.to_string(),
        };
        self.json(Method::POST, "/api/v1/auth/verify", Some(&body), None)
            .await
    }

    pub async fn sign_out(&self) -> ApiResult<()> {
        self.send::<()>(Method::POST, "/api/v1/auth/signout", None, None)
            .await
            .map(|_| ())
    }

    pub async fn me(&self) -> ApiResult<Me> {
        self.get("/api/v1/me").await
    }

    pub async fn update_me(&self, patch: &MePatch) -> ApiResult<Me> {
        self.json(Method::PATCH, "/api/v1/me", Some(patch), None)
            .await
    }

    // Ratings

    /// My rating of a booking's trip; `None` while there is none.
    pub async fn my_rating(&self, booking: &str) -> ApiResult<Option<Rating>> {
        match self
            .get(&format!("/api/v1/bookings/{booking}/rating"))
            .await
        {
            Ok(rating) => Ok(Some(rating)),
            Err(err) if err.status() == Some(404) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Grades a booking's trip (or changes my grade).
    pub async fn rate(&self, booking: &str, input: &RatingInput) -> ApiResult<Rating> {
        self.json(
            Method::PUT,
            &format!("/api/v1/bookings/{booking}/rating"),
            Some(input),
            None,
        )
        .await
    }

    /// How I am graded: `(count, average)`, the average from three on.
    pub async fn my_grade(&self) -> ApiResult<(u64, Option<f64>)> {
        #[derive(serde::Deserialize)]
        struct Summary {
            count: u64,
            average: Option<f64>,
        }
        let s: Summary = self.get("/api/v1/me/rating").await?;
        Ok((s.count, s.average))
    }

    /// A territory's ratings (`low`: only grades of 1 or 2).
    pub async fn ratings(&self, territory: &str, low: bool) -> ApiResult<Vec<StaffRating>> {
        self.get(&format!(
            "/api/v1/territories/{territory}/ratings?low={low}"
        ))
        .await
    }

    /// Hides a rating, with the reason.
    pub async fn hide_rating(&self, territory: &str, id: &str, reason: &str) -> ApiResult<()> {
        self.send(
            Method::POST,
            &format!("/api/v1/territories/{territory}/ratings/{id}/hide"),
            Some(&HideRating {
                reason: reason.to_string(),
            }),
            None,
        )
        .await
        .map(|_| ())
    }

    // Places

    pub async fn places(&self, q: &str) -> ApiResult<Vec<Place>> {
        let bytes = {
            let mut request = self
                .http
                .get(format!("{}/api/v1/places", self.base))
                .query(&[("q", q), ("limit", "8")]);
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.map_err(|_| ApiError::Offline)?;
            if !response.status().is_success() {
                return Ok(Vec::new());
            }
            response.bytes().await.map_err(|_| ApiError::Offline)?
        };
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Unexpected(e.to_string()))
    }

    // Trips, needs, matches

    pub async fn offers(&self) -> ApiResult<Vec<Offer>> {
        self.get("/api/v1/offers").await
    }

    pub async fn create_offer(&self, input: &OfferInput, key: &str) -> ApiResult<Offer> {
        self.json(Method::POST, "/api/v1/offers", Some(input), Some(key))
            .await
    }

    pub async fn patch_offer(&self, id: &str, patch: &OfferPatch) -> ApiResult<Offer> {
        self.json(
            Method::PATCH,
            &format!("/api/v1/offers/{id}"),
            Some(patch),
            None,
        )
        .await
    }

    pub async fn delete_offer(&self, id: &str) -> ApiResult<()> {
        self.send::<()>(Method::DELETE, &format!("/api/v1/offers/{id}"), None, None)
            .await
            .map(|_| ())
    }

    pub async fn offer_matches(&self, id: &str) -> ApiResult<Vec<Match>> {
        self.get(&format!("/api/v1/offers/{id}/matches")).await
    }

    pub async fn requests(&self) -> ApiResult<Vec<Need>> {
        self.get("/api/v1/requests").await
    }

    pub async fn create_request(&self, input: &NeedInput, key: &str) -> ApiResult<NeedCreated> {
        self.json(Method::POST, "/api/v1/requests", Some(input), Some(key))
            .await
    }

    pub async fn cancel_request(&self, id: &str) -> ApiResult<()> {
        self.send::<()>(
            Method::DELETE,
            &format!("/api/v1/requests/{id}"),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    pub async fn request_matches(&self, id: &str) -> ApiResult<Vec<Match>> {
        self.get(&format!("/api/v1/requests/{id}/matches")).await
    }

    // Bookings

    pub async fn bookings(&self) -> ApiResult<Vec<Booking>> {
        self.get("/api/v1/bookings").await
    }

    pub async fn booking(&self, id: &str) -> ApiResult<Booking> {
        self.get(&format!("/api/v1/bookings/{id}")).await
    }

    pub async fn create_booking(&self, input: &BookingInput, key: &str) -> ApiResult<Booking> {
        self.json(Method::POST, "/api/v1/bookings", Some(input), Some(key))
            .await
    }

    pub async fn patch_booking(&self, id: &str, patch: &BookingPatch) -> ApiResult<Booking> {
        self.json(
            Method::PATCH,
            &format!("/api/v1/bookings/{id}"),
            Some(patch),
            None,
        )
        .await
    }

    // Notifications and sync

    pub async fn notifications(&self) -> ApiResult<Vec<Notification>> {
        self.get("/api/v1/notifications").await
    }

    pub async fn sync(&self, since: &str) -> ApiResult<SyncPage> {
        self.get(&format!("/api/v1/sync?since={since}")).await
    }

    pub async fn vapid_key(&self) -> ApiResult<PushKey> {
        self.get("/api/v1/push/vapid-public-key").await
    }

    /// "I am at the meeting point" (`{"lat", "lon"}`).
    pub async fn check_in(&self, id: &str, position: &serde_json::Value) -> ApiResult<()> {
        self.send(
            Method::POST,
            &format!("/api/v1/bookings/{id}/checkin"),
            Some(position),
            None,
        )
        .await
        .map(|_| ())
    }

    // My data

    /// Everything held about me, as pretty-printed JSON.
    pub async fn export_me(&self) -> ApiResult<String> {
        let value: serde_json::Value = self.get("/api/v1/me/export").await?;
        serde_json::to_string_pretty(&value).map_err(|e| ApiError::Unexpected(e.to_string()))
    }

    pub async fn erase_me(&self) -> ApiResult<()> {
        self.send::<()>(Method::DELETE, "/api/v1/me", None, None)
            .await
            .map(|_| ())
    }

    // Relays and coordinators (online only: office PCs)

    pub async fn beneficiaries(&self, territory: &str) -> ApiResult<Vec<Beneficiary>> {
        self.get(&format!("/api/v1/territories/{territory}/beneficiaries"))
            .await
    }

    pub async fn create_beneficiary(
        &self,
        territory: &str,
        input: &BeneficiaryInput,
    ) -> ApiResult<Beneficiary> {
        self.json(
            Method::POST,
            &format!("/api/v1/territories/{territory}/beneficiaries"),
            Some(input),
            None,
        )
        .await
    }

    pub async fn territory_requests(&self, territory: &str, query: &str) -> ApiResult<Vec<Need>> {
        self.get(&format!("/api/v1/territories/{territory}/requests?{query}"))
            .await
    }

    pub async fn record_outcome(&self, id: &str, input: &OutcomeInput) -> ApiResult<Need> {
        self.json(
            Method::PUT,
            &format!("/api/v1/requests/{id}/outcome"),
            Some(input),
            None,
        )
        .await
    }

    /// The impact figures (aggregates only) of a territory.
    pub async fn impact(&self, territory: &str) -> ApiResult<Impact> {
        self.get(&format!("/api/v1/territories/{territory}/impact"))
            .await
    }

    /// How the territory is used, by `by` (`week` or `month`).
    pub async fn usage(&self, territory: &str, by: &str) -> ApiResult<Usage> {
        self.get(&format!("/api/v1/territories/{territory}/usage?by={by}"))
            .await
    }

    /// The trips done, ready for the national proof registry (or flagged).
    pub async fn registry(&self, territory: &str) -> ApiResult<RegistryExport> {
        self.get(&format!(
            "/api/v1/territories/{territory}/registry/journeys"
        ))
        .await
    }

    /// Who did what on the territory.
    pub async fn audit(&self, territory: &str) -> ApiResult<Vec<AuditEntry>> {
        self.get(&format!("/api/v1/territories/{territory}/audit"))
            .await
    }

    /// Commune-to-commune demand nobody served.
    pub async fn unmet(&self, territory: &str) -> ApiResult<Vec<UnmetCorridor>> {
        self.get(&format!("/api/v1/territories/{territory}/unmet"))
            .await
    }

    /// The people with a role on the territory.
    pub async fn staff(&self, territory: &str) -> ApiResult<Vec<StaffMember>> {
        self.get(&format!("/api/v1/territories/{territory}/staff"))
            .await
    }

    pub async fn meeting_points(&self, territory: &str) -> ApiResult<Vec<MeetingPoint>> {
        self.get(&format!("/api/v1/territories/{territory}/meeting-points"))
            .await
    }

    pub async fn aliases(&self, territory: &str) -> ApiResult<Vec<Alias>> {
        self.get(&format!("/api/v1/territories/{territory}/aliases"))
            .await
    }

    /// A territory's resource as text (the impact CSV, the map's SVG).
    pub async fn territory_text(&self, territory: &str, what: &str) -> ApiResult<String> {
        let bytes = self
            .send::<()>(
                Method::GET,
                &format!("/api/v1/territories/{territory}/{what}"),
                None,
                None,
            )
            .await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The matching board; `query`: `status=open&from=…&to=…`.
    pub async fn board(&self, territory: &str, query: &str) -> ApiResult<Vec<BoardEntry>> {
        self.get(&format!("/api/v1/territories/{territory}/board?{query}"))
            .await
    }

    pub async fn propose(&self, territory: &str, input: &ProposalInput) -> ApiResult<()> {
        self.send(
            Method::POST,
            &format!("/api/v1/territories/{territory}/proposals"),
            Some(input),
            None,
        )
        .await
        .map(|_| ())
    }

    pub async fn add_staff(&self, territory: &str, input: &StaffInput) -> ApiResult<StaffMember> {
        self.json(
            Method::POST,
            &format!("/api/v1/territories/{territory}/staff"),
            Some(input),
            None,
        )
        .await
    }

    pub async fn add_meeting_point(
        &self,
        territory: &str,
        input: &MeetingPointInput,
    ) -> ApiResult<MeetingPoint> {
        self.json(
            Method::POST,
            &format!("/api/v1/territories/{territory}/meeting-points"),
            Some(input),
            None,
        )
        .await
    }

    /// Removes something of a territory (`staff/{id}`, `meeting-points/{id}`,
    /// `aliases/{id}`).
    pub async fn territory_delete(&self, territory: &str, what: &str) -> ApiResult<()> {
        self.send::<()>(
            Method::DELETE,
            &format!("/api/v1/territories/{territory}/{what}"),
            None,
            None,
        )
        .await
        .map(|_| ())
    }

    pub async fn add_alias(&self, territory: &str, input: &AliasInput) -> ApiResult<Alias> {
        self.json(
            Method::POST,
            &format!("/api/v1/territories/{territory}/aliases"),
            Some(input),
            None,
        )
        .await
    }
}
