//! The person's own screens: signing in, home, notifications, profile and
//! settings (their data, signing out).

use dioxus::core::spawn_forever;
use dioxus::prelude::*;
use lotocar_shared::api::MePatch;
use lotocar_shared::people::{Channel, DisplayName, Role};
use lotocar_shared::text::public_name;
use lotocar_shared::validation::FieldError;

use super::pieces::{
    Back, FieldMessage, TO_CORRECT, focus_first_fault, invalid, message_id, national_phone,
    percent_encode,
};
use super::{AppHandle, Route};

// ---------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------

/// Signing in with a code sent by SMS or e-mail. Shown for every address
/// while signed out; once signed in, the asked screen shows (the home
/// screen when the sign-in screen itself was asked).
#[component]
pub fn SignIn() -> Element {
    let app = use_context::<AppHandle>();
    let route = use_route::<Route>();
    let mut contact = use_signal(String::new);
    let mut code = use_signal(String::new);
    let mut sent = use_signal(|| false);
    let mut errors = use_signal(Vec::<FieldError>::new);
    let mut hint = use_signal(|| None::<String>);
    let ask = move |_| {
        spawn(async move {
            match app.api().await.start_sign_in(&contact.read()).await {
                Ok(started) => {
                    errors.set(Vec::new());
                    if let Some(dev) = &started.dev_code {
                        code.set(dev.clone());
                    }
                    hint.set(Some(started.message.clone()));
                    sent.set(true);
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.warn(err.message());
                }
            }
        });
    };
    let enter = move |_| {
        let route = route.clone();
        spawn(async move {
            let api = app.api().await;
            match api.verify(&contact.read(), &code.read()).await {
                Ok(session) => {
                    // In the browser, the session cookie first: a page that
                    // connects again from now on (a server restart, a
                    // moment without signal) is still signed in.
                    if app.web {
                        keep_browser_session(Some(session.token.clone())).await;
                    }
                    app.with_engine(async |e| {
                        e.signed_in(session.token.clone());
                        let _ = e.pull().await;
                    })
                    .await;
                    // Signed in: this screen gives way to the asked one,
                    // so what follows must not be tied to it.
                    if app.web {
                        spawn_forever(subscribe_to_push(app, session.token));
                    }
                    if route == (Route::SignIn {}) {
                        app.go_instead(Route::Home {});
                    } else {
                        app.dismiss();
                    }
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.warn(err.message());
                }
            }
        });
    };
    rsx! {
        h1 { "Lot'ô car" }
        p { "Covoiturage solidaire : des conducteurs qui font déjà le trajet, des passagers qui en ont besoin." }
        h2 { "Se connecter" }
        label { r#for: "contact", "Votre numéro de portable ou votre e-mail" }
        input { id: "contact", r#type: "text", inputmode: "tel", autocomplete: "tel", value: "{contact}",
            placeholder: "06 12 34 56 78",
            oninput: move |e| contact.set(e.value()) }
        FieldMessage { errors: errors(), field: "contact" }
        button { id: "ask-code", onclick: ask, "Recevoir un code" }
        if sent() {
            if let Some(message) = hint() { p { "{message}" } }
            label { r#for: "code", "Le code reçu (6 chiffres)" }
            input { id: "code", r#type: "text", inputmode: "numeric", autocomplete: "one-time-code", value: "{code}",
                oninput: move |e| code.set(e.value()) }
            FieldMessage { errors: errors(), field: "code" }
            button { id: "sign-in", onclick: enter, "Se connecter" }
        }
    }
}

/// After a first sign-in (or while the account has no name): the name the
/// others will see, before anything else, so that a driver is never asked
/// for a seat by « Membre ».
#[component]
pub fn AskName() -> Element {
    let app = use_context::<AppHandle>();
    let mut name = use_signal(String::new);
    let mut errors = use_signal(Vec::<FieldError>::new);
    let save = move |event: FormEvent| {
        event.prevent_default();
        spawn(async move {
            let typed = name.read().clone();
            if let Err(message) = DisplayName::new(&typed) {
                errors.set(vec![FieldError {
                    field: "display_name".into(),
                    message,
                }]);
                app.warn(TO_CORRECT);
                focus_first_fault();
                return;
            }
            let patch = MePatch {
                display_name: Some(typed),
                ..Default::default()
            };
            match app.api().await.update_me(&patch).await {
                Ok(updated) => {
                    errors.set(Vec::new());
                    let shown = public_name(&updated.display_name);
                    app.with_engine(async |e| {
                        e.store.me = Some(updated);
                        e.save();
                    })
                    .await;
                    app.say(format!("Bienvenue, {shown} !"));
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.warn(err.message());
                    focus_first_fault();
                }
            }
        });
    };
    let e = errors();
    rsx! {
        h1 { "Bienvenue !" }
        p { "Comment vous appelez-vous ? Les conducteurs et les passagers verront votre prénom et l'initiale de votre nom (« Claire P. »). Votre numéro reste caché, sauf si vous acceptez de le montrer." }
        form { novalidate: true, onsubmit: save,
            label { r#for: "welcome-name", "Votre prénom et votre nom (ou son initiale)" }
            input { id: "welcome-name", r#type: "text", autocomplete: "name", value: "{name}",
                "aria-invalid": invalid(&e, "display_name"), "aria-describedby": message_id("display_name"),
                oninput: move |event| name.set(event.value()) }
            FieldMessage { errors: e.clone(), field: "display_name" }
            button { id: "save-name", r#type: "submit", "Continuer" }
        }
    }
}

/// A script that runs with `data` as `given` (a JSON literal, which is a
/// JavaScript one). Never `dioxus.recv()` for this: LiveView's waits 50 ms,
/// then spins until the message is there, and a message that comes later
/// (a busy server) can never arrive while it spins: the page freezes.
fn with_data(data: &serde_json::Value, script: &str) -> String {
    format!("const given = {data};\n{script}")
}

/// In the browser: keeps the sign-in in the session cookie (the server
/// sets it, HttpOnly, from the token), or forgets it (`None`).
pub(crate) async fn keep_browser_session(token: Option<String>) {
    let mut eval = document::eval(&with_data(
        &serde_json::json!({ "token": token }),
        r#"
        try {
            await fetch("/web/session", given.token
                ? { method: "POST", credentials: "same-origin", headers: { "authorization": "Bearer " + given.token } }
                : { method: "DELETE", credentials: "same-origin" });
            dioxus.send("done");
        } catch (e) {
            dioxus.send("failed: " + e);
        }
        "#,
    ));
    let _ = eval.recv::<String>().await;
}

/// In the browser: a service worker, and a Web Push subscription with the
/// server's key, so that a relay's browser is told even when closed.
async fn subscribe_to_push(app: AppHandle, token: String) {
    let Ok(key) = app.api().await.vapid_key().await else {
        return;
    };
    let mut eval = document::eval(&with_data(
        &serde_json::json!({ "key": key.key, "token": token }),
        r#"
        const { key, token } = given;
        try {
            if (!("serviceWorker" in navigator) || !("PushManager" in window)) { dioxus.send("unsupported"); return; }
            const registration = await navigator.serviceWorker.register("/sw.js");
            await navigator.serviceWorker.ready;
            const raw = atob(key.replace(/-/g, "+").replace(/_/g, "/"));
            const bytes = Uint8Array.from(raw, c => c.charCodeAt(0));
            const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes });
            await fetch("/api/v1/push/subscriptions", {
                method: "POST",
                headers: { "content-type": "application/json", "authorization": "Bearer " + token },
                body: JSON.stringify(subscription),
            });
            dioxus.send("subscribed");
        } catch (e) {
            dioxus.send("refused: " + e);
        }
        "#,
    ));
    let _ = eval.recv::<String>().await;
}

// ---------------------------------------------------------------------------
// Home
// ---------------------------------------------------------------------------

#[component]
pub fn Home() -> Element {
    let app = use_context::<AppHandle>();
    let store = app.store.read();
    let name = store
        .me
        .as_ref()
        .map(|m| m.display_name.clone())
        .filter(|n| !n.is_empty());
    let unread = store.notifications.values().filter(|n| !n.read).count();
    let relay = store.me.as_ref().is_some_and(|m| {
        m.roles
            .iter()
            .any(|r| matches!(r.role, Role::Relay | Role::Coordinator | Role::Admin))
    });
    rsx! {
        h1 { "Lot'ô car" }
        if let Some(name) = name { p { "Bonjour {name} !" } } else { p { "Bonjour ! Pensez à indiquer votre prénom dans « Mon profil »." } }
        nav { class: "home",
            button { id: "go-drive", onclick: move |_| app.go(Route::Drive {}), "Je conduis" }
            button { id: "go-ride", onclick: move |_| app.go(Route::Ride {}), "Je cherche un trajet" }
            button { id: "go-bookings", onclick: move |_| app.go(Route::Bookings {}), "Mes réservations" }
            button { id: "go-inbox", class: "secondary", onclick: move |_| app.go(Route::Inbox {}),
                if unread > 0 { "Notifications ({unread})" } else { "Notifications" }
            }
            button { class: "secondary", onclick: move |_| app.go(Route::Profile {}), "Mon profil" }
            button { class: "secondary", onclick: move |_| app.go(Route::Settings {}), "Réglages" }
            if relay {
                button { id: "go-relay", onclick: move |_| app.go(Route::RelayHome {}), "Espace relais" }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Notifications, profile, settings
// ---------------------------------------------------------------------------

#[component]
pub fn Inbox() -> Element {
    let app = use_context::<AppHandle>();
    let store = app.store.read();
    let notes: Vec<_> = store.inbox().into_iter().cloned().collect();
    rsx! {
        Back { to: Route::Home {} }
        h1 { "Notifications" }
        if notes.is_empty() { p { class: "muted", "Rien de nouveau." } }
        for n in notes {
            div { class: if n.read { "card" } else { "card highlight" }, key: "{n.id}",
                p { strong { "{n.title}" } }
                p { "{n.body}" }
                p { class: "muted", {lotocar_shared::time::french_date_time(n.created_at.with_timezone(&super::forms::TZ))} }
                // Its link (the one sent by SMS, e-mail or Web Push) opens
                // what it is about.
                if let Ok(route) = n.url.parse::<Route>() {
                    button { class: "small", onclick: move |_| app.go(route.clone()), "Ouvrir" }
                }
            }
        }
    }
}

#[component]
pub fn Profile() -> Element {
    let app = use_context::<AppHandle>();
    let me = app.store.read().me.clone();
    let mut name = use_signal(|| {
        me.as_ref()
            .map(|m| m.display_name.clone())
            .unwrap_or_default()
    });
    let mut channel = use_signal(|| {
        me.as_ref()
            .map(|m| m.preferred_channel)
            .unwrap_or(Channel::Push)
    });
    let mut share_phone = use_signal(|| me.as_ref().is_some_and(|m| m.share_phone));
    let mut share_email = use_signal(|| me.as_ref().is_some_and(|m| m.share_email));
    let mut errors = use_signal(Vec::<FieldError>::new);
    let save = move |_| {
        let patch = MePatch {
            display_name: Some(name.read().clone()),
            preferred_channel: Some(channel()),
            share_phone: Some(share_phone()),
            share_email: Some(share_email()),
        };
        spawn(async move {
            match app.api().await.update_me(&patch).await {
                Ok(updated) => {
                    errors.set(Vec::new());
                    app.with_engine(async |e| {
                        e.store.me = Some(updated);
                        e.save();
                    })
                    .await;
                    app.say("Profil enregistré.");
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.warn(err.message());
                }
            }
        });
    };
    let contact = me
        .as_ref()
        .and_then(|m| m.phone.as_deref().map(national_phone).or(m.email.clone()))
        .unwrap_or_default();
    let grade = use_resource(move || async move { app.api().await.my_grade().await });
    let graded = match &*grade.read() {
        Some(Ok((count, Some(average)))) => Some(format!(
            "Votre note moyenne : {} sur 5 ({count} avis)",
            lotocar_shared::text::french_number(*average, 1)
        )),
        Some(Ok((count, None))) if *count > 0 => Some(format!(
            "{count} avis sur vous pour l'instant : votre moyenne s'affichera à partir de {}.",
            lotocar_shared::rating::SHOWN_FROM
        )),
        _ => None,
    };
    rsx! {
        Back { to: Route::Home {} }
        h1 { "Mon profil" }
        p { class: "muted", "Connecté avec : {contact}" }
        if let Some(graded) = graded { p { id: "my-grade", "{graded}" } }
        label { r#for: "name", "Votre prénom et l'initiale de votre nom" }
        input { id: "name", r#type: "text", value: "{name}", oninput: move |e| name.set(e.value()) }
        FieldMessage { errors: errors(), field: "display_name" }
        label { r#for: "channel", "Être prévenu par" }
        select { id: "channel", value: "{channel().code()}",
            onchange: move |e| channel.set(Channel::from_code(&e.value()).unwrap_or(Channel::Push)),
            option { value: "push", "Notification sur le téléphone" }
            option { value: "sms", "SMS" }
            option { value: "email", "E-mail" }
        }
        FieldMessage { errors: errors(), field: "preferred_channel" }
        h2 { "Après une réservation confirmée" }
        label { class: "check",
            input { id: "share-phone", r#type: "checkbox", checked: share_phone(), onchange: move |e| share_phone.set(e.checked()) }
            "J'accepte que mon numéro de téléphone soit montré à l'autre personne"
        }
        label { class: "check",
            input { r#type: "checkbox", checked: share_email(), onchange: move |e| share_email.set(e.checked()) }
            "J'accepte que mon e-mail soit montré à l'autre personne"
        }
        p { class: "muted", "Sans votre accord, rien n'est montré. Vous pouvez changer d'avis à tout moment." }
        button { id: "save-profile", onclick: save, "Enregistrer" }
    }
}

#[component]
pub fn Settings() -> Element {
    let app = use_context::<AppHandle>();
    let sign_out = move |_| {
        spawn(async move {
            let api = app.api().await;
            let _ = api.sign_out().await;
            if app.web {
                keep_browser_session(None).await;
            }
            app.with_engine(async |e| e.signed_out()).await;
            app.go(Route::SignIn {});
        });
    };
    let mut exported = use_signal(|| None::<String>);
    let mut confirming = use_signal(|| false);
    let export = move |_| {
        spawn(async move {
            match app.api().await.export_me().await {
                Ok(json) => {
                    exported.set(Some(json));
                    app.say("Vos données sont prêtes : enregistrez le fichier.");
                }
                Err(err) => app.warn(err.message()),
            }
        });
    };
    let erase = move |_| {
        spawn(async move {
            match app.api().await.erase_me().await {
                Ok(()) => {
                    if app.web {
                        keep_browser_session(None).await;
                    }
                    app.with_engine(async |e| e.signed_out()).await;
                    app.go(Route::SignIn {});
                    app.say("Votre compte est supprimé. Merci d'avoir utilisé Lot'ô car.");
                }
                Err(err) => app.warn(err.message()),
            }
        });
    };
    rsx! {
        Back { to: Route::Home {} }
        h1 { "Réglages" }
        h2 { "Mes données" }
        p { class: "muted", "Vous pouvez récupérer tout ce que nous gardons sur vous, ou tout effacer." }
        button { id: "export-data", class: "secondary", onclick: export, "Exporter mes données" }
        if let Some(json) = exported() {
            a { id: "export-link", class: "button", href: "data:application/json;charset=utf-8,{percent_encode(&json)}",
                download: "lotocar-mes-donnees.json", "Enregistrer le fichier de mes données" }
        }
        if confirming() {
            p { class: "error", role: "alert", "Tout sera effacé : vos trajets, vos demandes, vos réservations en cours (les autres personnes seront prévenues). C'est définitif." }
            button { id: "erase-confirm", class: "danger", onclick: erase, "Oui, supprimer mon compte" }
            button { class: "secondary", onclick: move |_| confirming.set(false), "Non, garder mon compte" }
        } else {
            button { id: "erase-account", class: "danger", onclick: move |_| confirming.set(true), "Supprimer mon compte" }
        }
        h2 { "Session" }
        button { class: "secondary", onclick: sign_out, "Se déconnecter" }
    }
}
