//! Ending tokens at IMS: invalidation, revocation and logout.

use async_trait::async_trait;

use crate::{AccessToken, AnyToken, ClientCredentials, Result};

/// `POST /ims/invalidate_token/v2`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InvalidateRequest {
    /// The client the token was issued to.
    pub client: ClientCredentials,
    /// The token.
    pub token: AnyToken,
    /// `cascading=all`: a refresh token takes its access tokens along.
    pub cascading: bool,
}

impl InvalidateRequest {
    /// Invalidate `token` alone.
    pub fn new(client: ClientCredentials, token: AnyToken) -> Self {
        InvalidateRequest {
            client,
            token,
            cascading: false,
        }
    }

    /// Also invalidate what the token made (`cascading=all`).
    pub fn cascading(mut self) -> Self {
        self.cascading = true;
        self
    }
}

/// Ends tokens at IMS, so a stolen copy stops working.
///
/// Magento's `LogOutInterface` and `FlushUserTokensInterface`, aio's
/// `invalidateToken`; implemented by `ims-core`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TokenRevoker: Send + Sync {
    /// `POST /ims/invalidate_token/v2`.
    async fn invalidate(&self, request: &InvalidateRequest) -> Result<()>;

    /// `POST /ims/revoke` (OAuth2 token revocation).
    async fn revoke(&self, client: &ClientCredentials, token: &AnyToken) -> Result<()>;

    /// Back-channel `POST /ims/logout/v1`: ends the IMS session of the token.
    async fn logout(&self, client: &ClientCredentials, token: &AccessToken) -> Result<()>;
}
