//! The IMS settings: one row of `adobe_ims_settings`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use ims_api::{
    Change, ClientId, ClientSecret, Error, ImsSettings, ImsSettingsStore, InvalidValue, OrgId,
    Result,
};

use crate::changes::record;
use crate::context::StoreContext;
use crate::crypto::aad;
use crate::db::{Sql, TxFuture, Value};

const SECRET_AAD: (&str, &str, &str) = ("adobe_ims_settings", "client_secret", "1");

static LOAD: Sql = Sql::new(
    "SELECT enabled, client_id, client_secret, org_id, two_factor_confirmed \
     FROM adobe_ims_settings WHERE id = 1",
);
static SAVE: Sql = Sql::with_mysql(
    "INSERT INTO adobe_ims_settings (id, enabled, client_id, client_secret, org_id, \
     two_factor_confirmed, updated_at) VALUES (1, $1, $2, $3, $4, $5, $6) \
     ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, client_id = excluded.client_id, \
     client_secret = excluded.client_secret, org_id = excluded.org_id, \
     two_factor_confirmed = excluded.two_factor_confirmed, updated_at = excluded.updated_at",
    "INSERT INTO adobe_ims_settings (id, enabled, client_id, client_secret, org_id, \
     two_factor_confirmed, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?) \
     ON DUPLICATE KEY UPDATE enabled = VALUES(enabled), client_id = VALUES(client_id), \
     client_secret = VALUES(client_secret), org_id = VALUES(org_id), \
     two_factor_confirmed = VALUES(two_factor_confirmed), updated_at = VALUES(updated_at)",
);

/// The IMS settings as an [`ImsSettingsStore`]: one row, the client secret
/// encrypted with AES-256-GCM under the store's key. Cheap to clone.
///
/// Saving a secret without a configured key is a `Misconfigured` error that
/// says to configure the key; loading a secret stored under another key is a
/// `Misconfigured` error too (never garbage, never a panic).
#[derive(Clone)]
pub struct SqlSettingsStore {
    inner: Arc<StoreContext>,
}

impl fmt::Debug for SqlSettingsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSettingsStore")
            .field("store", &self.inner)
            .finish()
    }
}

impl SqlSettingsStore {
    pub(crate) fn new(inner: Arc<StoreContext>) -> Self {
        SqlSettingsStore { inner }
    }
}

fn secret_aad() -> Vec<u8> {
    aad(SECRET_AAD.0, SECRET_AAD.1, SECRET_AAD.2)
}

fn invalid_stored(err: InvalidValue) -> Error {
    Error::Storage {
        message: format!("the stored IMS settings hold an invalid {}", err.what()),
        source: Some(Box::new(err)),
    }
}

#[async_trait]
impl ImsSettingsStore for SqlSettingsStore {
    async fn load(&self) -> Result<ImsSettings> {
        let Some(row) = self
            .inner
            .pool
            .fetch_optional("load the IMS settings", &LOAD, &[])
            .await?
        else {
            return Ok(ImsSettings::default());
        };
        let mut settings = ImsSettings::default();
        settings.enabled = row.boolean(0)?;
        settings.client_id = row
            .opt_text(1)?
            .map(|id| ClientId::parse(&id))
            .transpose()
            .map_err(invalid_stored)?;
        settings.client_secret = self
            .inner
            .sealer
            .open("the client secret", row.opt_bytes(2)?, &secret_aad())?
            .map(ClientSecret::new);
        settings.org_id = row
            .opt_text(3)?
            .map(|org| OrgId::parse(&org))
            .transpose()
            .map_err(invalid_stored)?;
        settings.two_factor_confirmed = row.boolean(4)?;
        Ok(settings)
    }

    async fn save(&self, settings: &ImsSettings) -> Result<()> {
        let secret = self.inner.sealer.seal(
            "the client secret",
            settings
                .client_secret
                .as_ref()
                .map(ClientSecret::expose_secret),
            &secret_aad(),
        )?;
        let now = self.inner.clock.now();
        let params = [
            Value::Bool(settings.enabled),
            Value::OptText(settings.client_id.as_ref().map(|id| id.as_str().to_owned())),
            Value::Bytes(secret),
            Value::OptText(settings.org_id.as_ref().map(|org| org.as_str().to_owned())),
            Value::Bool(settings.two_factor_confirmed),
            Value::time(now),
        ];
        // The change is logged with the row: other instances reload the
        // settings once they can read the new ones.
        self.inner
            .changing("save the IMS settings", |tx| -> TxFuture<'_, ()> {
                let params = params.clone();
                Box::pin(async move {
                    tx.execute(&SAVE, &params).await?;
                    record(tx, &Change::Settings, now).await?;
                    Ok(())
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_are_well_formed() {
        use super::*;
        crate::db::assert_statements_well_formed(&[&LOAD, &SAVE]);
    }
}
