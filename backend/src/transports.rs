//! SMS and e-mail. Each has a default transport that writes to the log (an
//! operator reads it), an SMS gateway reached over HTTP, and SMTP.

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends text messages.
pub enum Sms {
    /// Writes the message to the log.
    Log,
    /// POSTs `template` (with `{to}` and `{text}` replaced, JSON-escaped)
    /// to `url`, with an optional Authorization header.
    Gateway {
        http: reqwest::Client,
        url: String,
        template: String,
        authorization: Option<String>,
    },
}

/// JSON string content (without the quotes).
fn json_escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

impl Sms {
    pub fn from_config(
        url: Option<&str>,
        template: &str,
        authorization: Option<&str>,
    ) -> anyhow::Result<Sms> {
        Ok(match url {
            None => Sms::Log,
            Some(url) => Sms::Gateway {
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()?,
                url: url.to_string(),
                template: template.to_string(),
                authorization: authorization.map(str::to_string),
            },
        })
    }

    pub async fn send(&self, to: &str, text: &str) -> anyhow::Result<()> {
        match self {
            Sms::Log => {
                tracing::info!(transport = "log", channel = "sms", %to, %text, "SMS");
                Ok(())
            }
            Sms::Gateway {
                http,
                url,
                template,
                authorization,
            } => {
                let body = template
                    .replace("{to}", &json_escape(to))
                    .replace("{text}", &json_escape(text));
                let mut request = http
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(value) = authorization {
                    request = request.header("authorization", value);
                }
                let response = request.send().await.context("SMS gateway unreachable")?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "SMS gateway answered {}",
                    response.status()
                );
                Ok(())
            }
        }
    }
}

/// Sends e-mails.
pub enum Mail {
    Log,
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: lettre::message::Mailbox,
    },
}

impl Mail {
    /// `url`: `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS), or `smtp://host:25` (no
    /// encryption: a relay on the same machine).
    pub fn from_config(url: Option<&str>, from: &str) -> anyhow::Result<Mail> {
        Ok(match url {
            None => Mail::Log,
            Some(url) => Mail::Smtp {
                transport: Box::new(
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                        .context("LOTOCAR_SMTP_URL is not a valid smtp:// URL")?
                        .timeout(Some(Duration::from_secs(15)))
                        .build(),
                ),
                from: from
                    .parse()
                    .context("LOTOCAR_MAIL_FROM is not an e-mail address")?,
            },
        })
    }

    pub async fn send(&self, to: &str, subject: &str, text: &str) -> anyhow::Result<()> {
        match self {
            Mail::Log => {
                tracing::info!(transport = "log", channel = "email", %to, %subject, %text, "e-mail");
                Ok(())
            }
            Mail::Smtp { transport, from } => {
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse().context("recipient address")?)
                    .subject(subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(text.to_string())?;
                transport
                    .send(message)
                    .await
                    .context("SMTP server refused the message")?;
                Ok(())
            }
        }
    }
}
