//! Clock times and weekday sets, as people say them: "07:30", "lun–ven".

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A local clock time, to the minute ("07:30"). Always a real time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    minutes: u16,
}

impl LocalTime {
    pub const MIDNIGHT: LocalTime = LocalTime { minutes: 0 };

    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        (hour < 24 && minute < 60).then(|| LocalTime {
            minutes: (hour * 60 + minute) as u16,
        })
    }

    /// Minutes since midnight (0..1440).
    pub fn from_minutes(minutes: u32) -> Option<Self> {
        (minutes < 24 * 60).then_some(LocalTime {
            minutes: minutes as u16,
        })
    }

    pub fn minutes(self) -> u32 {
        u32::from(self.minutes)
    }

    pub fn hour(self) -> u32 {
        self.minutes() / 60
    }

    pub fn minute(self) -> u32 {
        self.minutes() % 60
    }

    pub fn to_naive(self) -> NaiveTime {
        NaiveTime::from_hms_opt(self.hour(), self.minute(), 0).expect("valid by construction")
    }

    /// "7 h 42", the way French speakers read a time aloud.
    pub fn spoken(self) -> String {
        if self.minute() == 0 {
            format!("{} h", self.hour())
        } else {
            format!("{} h {:02}", self.hour(), self.minute())
        }
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

/// Message shown when a time cannot be read.
pub const TIME_FORMAT_HELP: &str =
    "Heure invalide : écrivez-la sous la forme HH:MM, par exemple 07:30.";

impl FromStr for LocalTime {
    type Err = String;

    /// Accepts "07:30", "7:30" and "7h30".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (h, m) = s
            .split_once(':')
            .or_else(|| s.split_once(['h', 'H']))
            .ok_or_else(|| TIME_FORMAT_HELP.to_string())?;
        let m = if m.is_empty() { "00" } else { m };
        let valid_digits = |part: &str, max_len| {
            !part.is_empty() && part.len() <= max_len && part.bytes().all(|b| b.is_ascii_digit())
        };
        if !valid_digits(h, 2) || !valid_digits(m, 2) || m.len() != 2 {
            return Err(TIME_FORMAT_HELP.to_string());
        }
        let hour: u32 = h.parse().map_err(|_| TIME_FORMAT_HELP.to_string())?;
        let minute: u32 = m.parse().map_err(|_| TIME_FORMAT_HELP.to_string())?;
        LocalTime::new(hour, minute).ok_or_else(|| {
            "Heure impossible : les heures vont de 00 à 23 et les minutes de 00 à 59.".to_string()
        })
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A day of the week, serialized as in the API: "mon" … "sun".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    pub fn index(self) -> u8 {
        self as u8
    }

    pub fn of(date: NaiveDate) -> Weekday {
        Weekday::ALL[date.weekday().num_days_from_monday() as usize]
    }

    pub fn code(self) -> &'static str {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][self as usize]
    }

    /// French name, "lundi".
    pub fn french(self) -> &'static str {
        [
            "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
        ][self as usize]
    }

    /// Short French name, "lun".
    pub fn french_short(self) -> &'static str {
        ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"][self as usize]
    }
}

impl FromStr for Weekday {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Weekday::ALL
            .into_iter()
            .find(|d| d.code() == s)
            .ok_or_else(|| {
                format!("Jour inconnu « {s} » : utilisez mon, tue, wed, thu, fri, sat ou sun.")
            })
    }
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "mardi 8 décembre".
pub fn french_date(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        Weekday::of(date).french(),
        french_day(date.day()),
        MONTHS[date.month0() as usize]
    )
}

/// The day of the month as said in French: "1er", "2", "31".
pub fn french_day(day: u32) -> String {
    if day == 1 {
        "1er".to_string()
    } else {
        day.to_string()
    }
}

/// "mardi 8 décembre 2026": a date with its year, for what is not this
/// year's (or when the year matters: a consent, an export).
pub fn french_date_with_year(date: NaiveDate) -> String {
    format!("{} {}", french_date(date), date.year())
}

/// A month as said in French: "décembre 2026".
pub fn french_month(year: i32, month: u32) -> String {
    match MONTHS.get(month.wrapping_sub(1) as usize) {
        Some(name) => format!("{name} {year}"),
        None => format!("{month}/{year}"),
    }
}

/// The month "2026-12" (as the figures key it) in French: "décembre
/// 2026"; a key that is not a month, as it is.
pub fn french_month_of_key(key: &str) -> String {
    key.split_once('-')
        .and_then(|(y, m)| Some(french_month(y.parse().ok()?, m.parse().ok()?)))
        .unwrap_or_else(|| key.to_string())
}

/// An instant, in the local time of `tz`, as said in French: "mardi 8
/// décembre à 8 h 24".
pub fn french_date_time<Tz: chrono::TimeZone>(at: chrono::DateTime<Tz>) -> String {
    let date = at.date_naive();
    let time = at.time();
    let spoken = LocalTime::new(time.hour(), time.minute())
        .map(LocalTime::spoken)
        .unwrap_or_default();
    format!("{} à {spoken}", french_date(date))
}

/// A non-empty set of weekdays.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays {
    bits: u8,
}

impl Weekdays {
    /// Monday to Friday.
    pub const WORKDAYS: Weekdays = Weekdays { bits: 0b0001_1111 };

    /// `None` when `days` is empty: a regular trip happens on some day.
    pub fn new(days: impl IntoIterator<Item = Weekday>) -> Option<Self> {
        let bits = days.into_iter().fold(0u8, |acc, d| acc | (1 << d.index()));
        Self::from_bits(bits)
    }

    pub fn from_bits(bits: u8) -> Option<Self> {
        let bits = bits & 0x7f;
        (bits != 0).then_some(Weekdays { bits })
    }

    pub fn bits(self) -> u8 {
        self.bits
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.bits & (1 << day.index()) != 0
    }

    pub fn contains_date(self, date: NaiveDate) -> bool {
        self.contains(Weekday::of(date))
    }

    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        Weekday::ALL.into_iter().filter(move |d| self.contains(*d))
    }

    /// The days both sets share, if any.
    pub fn intersection(self, other: Weekdays) -> Option<Weekdays> {
        Weekdays::from_bits(self.bits & other.bits)
    }

    pub fn len(self) -> usize {
        self.bits.count_ones() as usize
    }

    /// Never empty by construction; provided for clippy's `len` convention.
    pub fn is_empty(self) -> bool {
        false
    }

    /// "du lundi au vendredi", "lundi, mercredi et vendredi", "tous les jours".
    pub fn french(self) -> String {
        let days: Vec<Weekday> = self.iter().collect();
        if days.len() == 7 {
            return "tous les jours".into();
        }
        let contiguous = days.windows(2).all(|w| w[1].index() == w[0].index() + 1);
        if days.len() >= 3 && contiguous {
            return format!(
                "du {} au {}",
                days[0].french(),
                days[days.len() - 1].french()
            );
        }
        let names: Vec<&str> = days.iter().map(|d| d.french()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} et {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }
}

impl fmt::Debug for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Weekdays {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl Weekdays {
    /// The set of `days`, each given once: a day given twice (or more
    /// than seven days) is refused, with a French message, rather than
    /// silently merged.
    pub fn from_list(days: &[Weekday]) -> Result<Self, String> {
        if days.len() > Weekday::ALL.len() {
            return Err(format!(
                "{} jours donnés : indiquez chaque jour de la semaine une seule fois (7 au plus).",
                days.len()
            ));
        }
        let mut bits = 0u8;
        for day in days {
            let bit = 1 << day.index();
            if bits & bit != 0 {
                return Err(format!(
                    "Le jour « {} » ({}) est donné deux fois : indiquez chaque jour une seule fois.",
                    day.code(),
                    day.french()
                ));
            }
            bits |= bit;
        }
        Weekdays::from_bits(bits).ok_or_else(|| "Choisissez au moins un jour de la semaine.".into())
    }
}

impl<'de> Deserialize<'de> for Weekdays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let days = Vec::<Weekday>::deserialize(deserializer)?;
        Weekdays::from_list(&days).map_err(serde::de::Error::custom)
    }
}

/// The OpenAPI schema of a weekday set: 1 to 7 distinct days.
#[cfg(feature = "openapi")]
pub fn weekdays_schema() -> utoipa::openapi::Array {
    weekdays_array().build()
}

/// [`weekdays_schema`], or null (an optional field).
#[cfg(feature = "openapi")]
pub fn optional_weekdays_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{SchemaType, Type};
    weekdays_array()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .build()
}

#[cfg(feature = "openapi")]
fn weekdays_array() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::ArrayBuilder::new()
        .items(utoipa::openapi::RefOr::Ref(
            utoipa::openapi::Ref::from_schema_name("Weekday"),
        ))
        .min_items(Some(1))
        .max_items(Some(7))
        .unique_items(true)
        .description(Some("Days of the week, each once (1 to 7)."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ways_people_write_times() {
        assert_eq!(
            "07:30".parse::<LocalTime>().unwrap(),
            LocalTime::new(7, 30).unwrap()
        );
        assert_eq!(
            "7:30".parse::<LocalTime>().unwrap(),
            LocalTime::new(7, 30).unwrap()
        );
        assert_eq!(
            "7h30".parse::<LocalTime>().unwrap(),
            LocalTime::new(7, 30).unwrap()
        );
        assert_eq!(
            "14h".parse::<LocalTime>().unwrap(),
            LocalTime::new(14, 0).unwrap()
        );
        for bad in ["", "25:00", "07:60", "7:3", "abc", "07:30:00", "-1:00"] {
            assert!(bad.parse::<LocalTime>().is_err(), "{bad} accepted");
        }
        assert_eq!(LocalTime::new(7, 5).unwrap().to_string(), "07:05");
        assert_eq!(LocalTime::new(7, 42).unwrap().spoken(), "7 h 42");
    }

    #[test]
    fn weekdays_are_never_empty_and_read_well_in_french() {
        assert!(Weekdays::new([]).is_none());
        assert_eq!(Weekdays::WORKDAYS.french(), "du lundi au vendredi");
        let mwf = Weekdays::new([Weekday::Mon, Weekday::Wed, Weekday::Fri]).unwrap();
        assert_eq!(mwf.french(), "lundi, mercredi et vendredi");
        assert_eq!(
            serde_json::to_string(&mwf).unwrap(),
            r#"["mon","wed","fri"]"#
        );
        let tue = Weekdays::new([Weekday::Tue]).unwrap();
        assert!(mwf.intersection(tue).is_none());
        assert!(serde_json::from_str::<Weekdays>("[]").is_err());
        assert!(serde_json::from_str::<Weekdays>(r#"["lundi"]"#).is_err());
    }

    #[test]
    fn a_day_given_twice_is_refused_not_merged() {
        let err = serde_json::from_str::<Weekdays>(r#"["mon","mon"]"#).unwrap_err();
        assert!(err.to_string().contains("deux fois"), "{err}");
        let many = format!("[{}]", vec![r#""tue""#; 700].join(","));
        let err = serde_json::from_str::<Weekdays>(&many).unwrap_err();
        assert!(err.to_string().contains("700 jours"), "{err}");
        let all =
            serde_json::from_str::<Weekdays>(r#"["mon","tue","wed","thu","fri","sat","sun"]"#)
                .unwrap();
        assert_eq!(all.len(), 7);
    }
}
