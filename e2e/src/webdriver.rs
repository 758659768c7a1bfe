//! A small W3C WebDriver client over reqwest: the dozen commands the test
//! needs, each bounded by a timeout.
//!
//! (fantoccini would bring the `webdriver` crate with `icu_segmenter`,
//! `http` 0.2 and a second cookie stack into the graph; these commands are
//! plain JSON over HTTP to a chromedriver on localhost.)

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key of an element reference in WebDriver's JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session.
#[derive(Debug)]
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
}

/// An element reference.
#[derive(Debug, Clone)]
pub(crate) struct Element(String);

impl Browser {
    /// Starts a headless Chromium session at the chromedriver on `port`.
    pub(crate) async fn start(port: u16, profile_dir: &str) -> Result<Browser, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .no_proxy()
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage", "--window-size=1280,900",
                        format!("--user-data-dir={profile_dir}"),
                    ]
                }
            }}
        });
        let url = format!("http://127.0.0.1:{port}/session");
        let value = send(http.post(&url).json(&capabilities)).await?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| format!("chromedriver gave no session id: {value}"))?;
        Ok(Browser {
            http,
            base: format!("{url}/{id}"),
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        send(self.http.get(format!("{}{path}", self.base))).await
    }

    /// Opens `url`.
    pub(crate) async fn goto(&self, url: &str) -> Result<(), String> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// The current URL.
    pub(crate) async fn url(&self) -> Result<String, String> {
        let value = self.get("/url").await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// The page's HTML.
    pub(crate) async fn source(&self) -> Result<String, String> {
        let value = self.get("/source").await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// The first element matching `css`, now.
    async fn find_now(&self, css: &str) -> Result<Option<Element>, String> {
        let response = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .map_err(|e| format!("WebDriver: {e}"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let value = unwrap_value(response).await?;
        Ok(value[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned())))
    }

    /// Waits (polling) for an element matching `css`.
    pub(crate) async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, String> {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_now(css).await? {
                return Ok(element);
            }
            if started.elapsed() > timeout {
                let url = self.url().await.unwrap_or_default();
                return Err(format!("no element `{css}` after {timeout:?} (page {url})"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits (polling) until the page's HTML contains `text`.
    pub(crate) async fn wait_for_text(&self, text: &str, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if self.source().await?.contains(text) {
                return Ok(());
            }
            if started.elapsed() > timeout {
                let url = self.url().await.unwrap_or_default();
                return Err(format!(
                    "the page never showed {text:?} within {timeout:?} (page {url})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Clicks an element.
    pub(crate) async fn click(&self, element: &Element) -> Result<(), String> {
        self.post(&format!("/element/{}/click", element.0), json!({}))
            .await
            .map(drop)
    }

    /// Replaces an input's value.
    pub(crate) async fn fill(&self, element: &Element, text: &str) -> Result<(), String> {
        self.post(&format!("/element/{}/clear", element.0), json!({}))
            .await?;
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await
        .map(drop)
    }

    /// A PNG of the viewport.
    pub(crate) async fn screenshot(&self) -> Result<Vec<u8>, String> {
        let value = self.get("/screenshot").await?;
        let data = value.as_str().ok_or("the screenshot is not base64 text")?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| format!("the screenshot is not base64: {e}"))
    }

    /// Ends the session (closes Chromium).
    pub(crate) async fn quit(&self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("WebDriver: {e}"))?;
    unwrap_value(response).await
}

async fn unwrap_value(response: reqwest::Response) -> Result<Value, String> {
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("WebDriver answered {status} without JSON: {e}"))?;
    if !status.is_success() {
        let message = body["value"]["message"].as_str().unwrap_or_default();
        let error = body["value"]["error"].as_str().unwrap_or("error");
        return Err(format!("WebDriver {status} {error}: {message}"));
    }
    Ok(body["value"].clone())
}
