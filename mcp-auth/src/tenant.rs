//! One MCP server for several tenants: [`Tenants`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use http::{HeaderValue, Request, StatusCode, header};
use tower::Service;

use crate::discovery::DiscoveryKind;
use crate::error::ConfigError;
use crate::mcp::McpAccess;
use crate::resource::ResourceAuth;
use crate::spec::Resource;
use crate::typed::{ResourceBuilder, StartupError};

/// The placeholder of the issuer and identifier patterns.
const PLACEHOLDER: &str = "{tenant}";
/// The well-known segments RFC 9728 §3.1 inserts before a resource's path.
const WELL_KNOWN: [&str; 2] = [".well-known", "oauth-protected-resource"];
/// The longest tenant name: a DNS label's limit, so a name fits a host too.
const MAX_TENANT_LEN: usize = 63;

type Edit<R> = Arc<dyn Fn(ResourceBuilder<R>) -> ResourceBuilder<R> + Send + Sync>;
type MakeRouter<R> = Arc<dyn Fn(&ResourceAuth<R>) -> Router + Send + Sync>;

/// One MCP server for several tenants, each with its own issuer, resource identifier and
/// metadata document, from one router.
///
/// A multi-tenant authorization server (Microsoft Entra ID, a Keycloak realm per customer, an
/// Auth0 tenant per region) gives each tenant its own issuer, and often the same signing keys.
/// [`Tenants`] serves one protected resource per tenant from an issuer pattern, a resource
/// identifier pattern and an allow-list:
///
/// * **Bounded.** Only the tenants of the allow-list exist; a request for any other is `404`,
///   and no request makes the server contact an issuer it was not configured with.
/// * **Separate.** Each tenant is a resource of its own: its identifier (by path,
///   `https://mcp.example.com/{tenant}/mcp`, or by host, `https://{tenant}.mcp.example.com/mcp`),
///   its RFC 9728 document naming only its issuer, its challenge, its verifier. A token of tenant A
///   is refused at tenant B: its `iss` is not B's issuer and its `aud` is not B's identifier,
///   even when both tenants share keys. What the tenants' handlers share is up to the
///   application: [`Tenants::router`] makes one app per tenant (its own data and sessions),
///   [`Tenants::mcp_router`] gives every tenant the one `service` (key its data by issuer and
///   subject: two tenants may have users with the same `sub`).
/// * **Lazy, once, fail closed.** A tenant's issuer is discovered on the tenant's first request,
///   once however many requests arrive together, and kept. While discovery fails, the tenant's
///   requests are answered `503` with `Retry-After` (and the operator is told at `warn`, at most
///   once every 10 s per tenant); the next attempt is made after that delay.
///
/// ```no_run
/// # use mcp_auth::mcp_resource;
/// # use mcp_auth::mcp::{McpAccess, Operation};
/// use mcp_auth::Tenants;
///
/// #[mcp_resource(
///     id = "https://mcp.example.com/mcp",
///     issuer = "https://login.microsoftonline.com/common/v2.0",
///     scopes = ["read:notes"]
/// )]
/// struct Notes;
///
/// # async fn run(service: axum::routing::Router) -> Result<(), Box<dyn std::error::Error>> {
/// let tenants = Tenants::<Notes>::builder()
///     .issuer("https://login.microsoftonline.com/{tenant}/v2.0")
///     .resource_id("https://mcp.example.com/{tenant}/mcp")
///     // Entra's tenant ids (a tenant's domain name is not its issuer's).
///     .allow(["0d6b4f55-c4ac-4b0e-a0a7-0a6a4c4e8d1f", "72f988bf-86f1-41af-91ab-2d7cd011db47"])
///     .build()?;
/// // `/0d6b4f55-…/mcp` is that tenant's endpoint, its metadata at
/// // `/.well-known/oauth-protected-resource/0d6b4f55-…/mcp`.
/// let app = tenants.mcp_router(service, McpAccess::new().scopes(Operation::tool("list_notes"), ["read:notes"]));
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
///
/// Each tenant's resource is started as the declaration's resource would be
/// (`Notes::builder()`), with the tenant's identifier and its discovered issuer in place of the
/// declared ones; [`TenantsBuilder::resource`] edits each tenant's builder as
/// [`ResourceBuilder`] is edited for one resource.
///
/// Cheap to clone; clones share the tenants' started resources.
pub struct Tenants<R> {
    shared: Arc<Shared<R>>,
}

impl<R> Clone for Tenants<R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<R> fmt::Debug for Tenants<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenants")
            .field("issuer", &self.shared.issuer)
            .field("resource_id", &self.shared.resource_id)
            .field("tenants", &self.shared.tenants.len())
            .finish_non_exhaustive()
    }
}

/// Where a request names its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// A whole path segment: `prefix` are the literal segments before it.
    Path { prefix: Vec<String> },
    /// The first label of the host: `suffix` is the rest of the authority (`.example.com:8443`).
    Host { suffix: String },
}

struct Shared<R> {
    issuer: String,
    resource_id: String,
    place: Place,
    /// Tenant name → its slot.
    index: HashMap<String, usize>,
    tenants: Vec<Slot<R>>,
    kind: DiscoveryKind,
    retry_after: Duration,
    edit: Option<Edit<R>>,
}

/// One tenant: its names, and its resource once started.
struct Slot<R> {
    name: String,
    issuer: String,
    resource_id: String,
    started: OnceLock<ResourceAuth<R>>,
    /// Held by the one start in flight; holds when the last start failed.
    flight: tokio::sync::Mutex<Option<tokio::time::Instant>>,
    /// The operator's line on failed starts, which requests trigger: throttled.
    failures: crate::notice::Throttle,
}

/// Builds [`Tenants`]; made by [`Tenants::builder`].
pub struct TenantsBuilder<R> {
    issuer: Option<String>,
    own_issuers: Vec<(String, String)>,
    resource_id: Option<String>,
    allow: Vec<String>,
    kind: DiscoveryKind,
    retry_after: Duration,
    edit: Option<Edit<R>>,
    _resource: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for TenantsBuilder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantsBuilder")
            .field("issuer", &self.issuer)
            .field("resource_id", &self.resource_id)
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl<R: Resource> Tenants<R> {
    /// A builder; [`issuer`](TenantsBuilder::issuer), [`resource_id`](TenantsBuilder::resource_id)
    /// and [`allow`](TenantsBuilder::allow) are required.
    pub fn builder() -> TenantsBuilder<R> {
        TenantsBuilder {
            issuer: None,
            own_issuers: Vec::new(),
            resource_id: None,
            allow: Vec::new(),
            kind: DiscoveryKind::Auto,
            retry_after: Duration::from_secs(10),
            edit: None,
            _resource: PhantomData,
        }
    }

    /// The tenants of the allow-list, in its order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.shared.tenants.iter().map(|t| t.name.as_str())
    }

    /// The resource identifier of `tenant`, or `None` when it is not in the allow-list.
    pub fn resource_id(&self, tenant: &str) -> Option<&str> {
        self.slot(tenant).map(|t| t.resource_id.as_str())
    }

    /// The issuer `tenant`'s tokens must come from, or `None` when it is not in the allow-list.
    pub fn issuer(&self, tenant: &str) -> Option<&str> {
        self.slot(tenant).map(|t| t.issuer.as_str())
    }

    /// The started resource of `tenant`: discovers its issuer on the first call (once, however
    /// many calls wait for it) and keeps it.
    ///
    /// # Errors
    ///
    /// [`StartupError::Config`] when `tenant` is not in the allow-list; the discovery or
    /// configuration error of the tenant's start otherwise (the next call tries again).
    pub async fn start(&self, tenant: &str) -> Result<ResourceAuth<R>, StartupError> {
        let Some(index) = self.shared.index.get(tenant) else {
            return Err(ConfigError::invalid(
                "tenant",
                format!("tenant `{tenant}` is not in the allow-list; add it with .allow([..])"),
            )
            .into());
        };
        self.start_slot(*index, None).await.map_err(|e| match e {
            NotStarted::Failed(e) => e,
            NotStarted::Wait(_) => unreachable!("no backoff was asked for"),
        })
    }

    /// Starts tenant `index` once: one start at a time; a start that finds the tenant started
    /// by the one before it returns that. With `backoff`, a start within `backoff` of a failed
    /// one is not made.
    async fn start_slot(
        &self,
        index: usize,
        backoff: Option<Duration>,
    ) -> Result<ResourceAuth<R>, NotStarted> {
        let slot = &self.shared.tenants[index];
        if let Some(started) = slot.started.get() {
            return Ok(started.clone());
        }
        let mut failed = slot.flight.lock().await;
        if let Some(started) = slot.started.get() {
            return Ok(started.clone());
        }
        if let (Some(backoff), Some(at)) = (backoff, *failed) {
            let waited = at.elapsed();
            if waited < backoff {
                return Err(NotStarted::Wait(backoff - waited));
            }
        }
        // Counted as failed until it succeeds: a start whose request is cancelled half-way
        // (a client gone, a timeout layer) keeps the backoff too.
        *failed = Some(tokio::time::Instant::now());
        let auth = self.shared.start(slot).await.map_err(NotStarted::Failed)?;
        *failed = None;
        Ok(slot.started.get_or_init(|| auth).clone())
    }

    /// The whole multi-tenant MCP endpoint in one router: for each tenant,
    /// [`ResourceAuth::mcp_router`] with `service` and `access`, made when the tenant is first
    /// asked for. Requests for no tenant of the allow-list are `404`.
    ///
    /// Every tenant is served by the one `service`, so its state (data, sessions) is shared:
    /// key data by the caller's issuer and subject, or make one service per tenant with
    /// [`router`](Self::router).
    pub fn mcp_router<S>(&self, service: S, access: McpAccess) -> Router
    where
        S: Service<Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse,
        S::Future: Send + 'static,
    {
        self.router(move |auth| auth.mcp_router(service.clone(), access.clone()))
    }

    /// One router for every tenant, each tenant's made by `make` from its started resource
    /// (its bearer layer, metadata router, ...) when the tenant is first asked for. A request
    /// goes to the router of the tenant its path (or host) names; requests for no tenant of the
    /// allow-list are `404`; while a tenant cannot start, its requests are `503` with
    /// `Retry-After`.
    pub fn router(
        &self,
        make: impl Fn(&ResourceAuth<R>) -> Router + Send + Sync + 'static,
    ) -> Router {
        let routers = (0..self.shared.tenants.len())
            .map(|_| OnceLock::new())
            .collect();
        Router::new().fallback_service(Dispatch {
            tenants: self.clone(),
            make: Arc::new(make),
            routers: Arc::new(routers),
        })
    }

    fn slot(&self, tenant: &str) -> Option<&Slot<R>> {
        let index = self.shared.index.get(tenant)?;
        self.shared.tenants.get(*index)
    }

    /// The tenant a request is for, from its path or its `Host`.
    fn tenant_of(&self, request: &Request<Body>) -> Option<usize> {
        let index = &self.shared.index;
        match &self.shared.place {
            Place::Path { prefix } => index
                .get(tenant_in_path(request.uri().path(), prefix)?)
                .copied(),
            Place::Host { suffix } => {
                let mut hosts = request.headers().get_all(header::HOST).iter();
                let authority = request.uri().authority().map(|a| a.as_str());
                let host = match (hosts.next(), hosts.next(), authority) {
                    (Some(host), None, None) => host.to_str().ok()?,
                    // An absolute-form target (or HTTP/2's `:authority`) and `Host` must agree.
                    (Some(host), None, Some(authority)) => host
                        .to_str()
                        .ok()
                        .filter(|host| host.eq_ignore_ascii_case(authority))?,
                    (None, _, authority) => authority?,
                    // Two `Host` lines name no one tenant.
                    (Some(_), Some(_), _) => return None,
                };
                let host = host.to_ascii_lowercase();
                index.get(host.strip_suffix(suffix.as_str())?).copied()
            }
        }
    }
}

/// Why a tenant's request finds no started resource.
enum NotStarted {
    /// The last start failed less than the retry delay ago: wait this long.
    Wait(Duration),
    /// This start failed.
    Failed(StartupError),
}

impl<R: Resource> Shared<R> {
    /// Starts `slot`'s resource: its builder, edited, with the tenant's identifier and its
    /// issuer discovered (with the builder's HTTP client and discovery settings).
    async fn start(&self, slot: &Slot<R>) -> Result<ResourceAuth<R>, StartupError> {
        let mut builder = ResourceBuilder::<R>::new();
        if let Some(edit) = &self.edit {
            builder = edit(builder);
        }
        builder
            .id(slot.resource_id.clone())
            .discover_instead(slot.issuer.clone(), self.kind)
            .build()
            .await
    }
}

/// The tenant segment of `path` for the tenant's own routes (`{prefix}/{tenant}/..`) and its
/// metadata (`/.well-known/oauth-protected-resource{prefix}/{tenant}/..`).
fn tenant_in_path<'p>(path: &'p str, prefix: &[String]) -> Option<&'p str> {
    let mut segments = path.strip_prefix('/')?.split('/');
    let mut first = segments.clone();
    let skip_well_known =
        first.next() == Some(WELL_KNOWN[0]) && first.next() == Some(WELL_KNOWN[1]);
    if skip_well_known {
        segments.next();
        segments.next();
    }
    for literal in prefix {
        if segments.next()? != literal {
            return None;
        }
    }
    segments.next().filter(|s| !s.is_empty())
}

impl<R: Resource> TenantsBuilder<R> {
    /// The issuer pattern: an issuer URL with `{tenant}` once, e.g.
    /// `https://login.microsoftonline.com/{tenant}/v2.0`.
    pub fn issuer(mut self, pattern: impl Into<String>) -> Self {
        self.issuer = Some(pattern.into());
        self
    }

    /// Gives `tenant` an issuer of its own instead of the pattern's: for tenants whose issuers
    /// follow no one pattern (a Keycloak realm on another host, a second provider). The tenant
    /// is allowed too. With every tenant given this way, no issuer pattern is needed.
    pub fn tenant_issuer(mut self, tenant: impl Into<String>, issuer: impl Into<String>) -> Self {
        self.own_issuers.push((tenant.into(), issuer.into()));
        self
    }

    /// The resource identifier pattern, with `{tenant}` once: as a whole path segment
    /// (`https://mcp.example.com/{tenant}/mcp`, tenants by path) or as the first label of the
    /// host (`https://{tenant}.mcp.example.com/mcp`, tenants by host).
    pub fn resource_id(mut self, pattern: impl Into<String>) -> Self {
        self.resource_id = Some(pattern.into());
        self
    }

    /// The tenants served, added to those already allowed. A name is 1 to 63 ASCII letters,
    /// digits and `-` (lower case when tenants are told by host), as Entra's tenant ids and
    /// most realm names are.
    pub fn allow(mut self, tenants: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allow.extend(tenants.into_iter().map(Into::into));
        self
    }

    /// Which discovery documents each tenant's issuer is looked up by
    /// ([`DiscoveryKind::Auto`] by default).
    pub fn discovery(mut self, kind: DiscoveryKind) -> Self {
        self.kind = kind;
        self
    }

    /// How long a tenant whose start failed answers `503` before the next attempt (10 s by
    /// default, at least 1 s); also its `Retry-After`.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// Edits each tenant's [`ResourceBuilder`] (verification options, introspection, the
    /// server's HTTP client, ...), as for one resource. The identifier and the authorization
    /// server are the tenant's and cannot be set here.
    pub fn resource(
        mut self,
        edit: impl Fn(ResourceBuilder<R>) -> ResourceBuilder<R> + Send + Sync + 'static,
    ) -> Self {
        self.edit = Some(Arc::new(edit));
        self
    }

    /// Checks the patterns and every tenant's issuer and identifier (no request is made).
    /// Every problem is reported at once.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting: a pattern without `{tenant}` once, a `{tenant}`
    /// that is not a whole path segment or the host's first label, an empty allow-list, a
    /// tenant name out of the rules or given twice, a tenant's issuer or identifier that is not
    /// valid.
    pub fn build(self) -> Result<Tenants<R>, ConfigError> {
        let mut errors = Vec::new();
        let mut allow = self.allow;
        let mut own_issuers: HashMap<String, String> = HashMap::new();
        for (tenant, issuer) in self.own_issuers {
            if own_issuers.contains_key(&tenant) {
                errors.push(ConfigError::invalid(
                    "tenant_issuer",
                    format!("tenant `{tenant}` is given two issuers; keep one"),
                ));
            } else if !allow.contains(&tenant) {
                allow.push(tenant.clone());
            }
            own_issuers.entry(tenant).or_insert(issuer);
        }
        let every_own = !allow.is_empty() && allow.iter().all(|t| own_issuers.contains_key(t));
        let issuer = match self.issuer {
            None if every_own => Some(String::new()),
            issuer => required(issuer, "issuer", &mut errors),
        };
        let resource_id = required(self.resource_id, "resource_id", &mut errors);
        let place = resource_id.as_deref().and_then(|id| match place_of(id) {
            Ok(place) => Some(place),
            Err(message) => {
                errors.push(ConfigError::invalid("resource_id", message));
                None
            }
        });
        if let Some(pattern) = issuer.as_ref().filter(|p| !p.is_empty())
            && let Err(message) = place_of(pattern)
        {
            errors.push(ConfigError::invalid("issuer", message));
        }
        if self.retry_after < Duration::from_secs(1) {
            errors.push(ConfigError::invalid(
                "retry_after",
                "a tenant whose start failed waits at least 1 s before the next attempt; give .retry_after(Duration::from_secs(1)) or more",
            ));
        }
        if allow.is_empty() {
            errors.push(ConfigError::invalid(
                "allow",
                "no tenant is allowed; list them with .allow([..])",
            ));
        }
        let by_host = matches!(place, Some(Place::Host { .. }));
        let mut index = HashMap::new();
        let mut tenants = Vec::new();
        for name in allow {
            if let Err(message) = check_name(&name, by_host) {
                errors.push(ConfigError::invalid("allow", message));
                continue;
            }
            if index.insert(name.clone(), tenants.len()).is_some() {
                errors.push(ConfigError::invalid(
                    "allow",
                    format!("tenant `{name}` is allowed twice; remove one"),
                ));
                continue;
            }
            let (Some(issuer), Some(id)) = (&issuer, &resource_id) else {
                continue;
            };
            let issuer = match own_issuers.get(&name) {
                Some(own) => own.clone(),
                None => issuer.replace(PLACEHOLDER, &name),
            };
            if let Err(message) = crate::discovery::check_issuer(&issuer) {
                errors.push(ConfigError::invalid(
                    "issuer",
                    format!("tenant `{name}`'s issuer `{issuer}`: {message}"),
                ));
            }
            let id = id.replace(PLACEHOLDER, &name);
            let check = mcp_auth_rules::resource_id(&id);
            for problem in check.problems.iter().filter(|p| p.is_error()) {
                errors.push(ConfigError::invalid(
                    "resource_id",
                    format!("tenant `{name}`'s identifier `{id}`: {}", problem.message),
                ));
            }
            if check.canonical.as_deref().is_some_and(|c| c != id) {
                errors.push(ConfigError::invalid(
                    "resource_id",
                    format!(
                        "tenant `{name}`'s identifier `{id}` is not in its canonical form; write the pattern as `{}` would be written",
                        check.canonical.unwrap_or_default()
                    ),
                ));
            }
            tenants.push(Slot {
                name,
                issuer,
                resource_id: id,
                started: OnceLock::new(),
                flight: tokio::sync::Mutex::new(None),
                failures: crate::notice::Throttle::default(),
            });
        }
        ConfigError::from_all(errors)?;
        let (Some(issuer), Some(resource_id), Some(place)) = (issuer, resource_id, place) else {
            return Err(ConfigError::invalid("tenants", "incomplete configuration"));
        };
        Ok(Tenants {
            shared: Arc::new(Shared {
                issuer,
                resource_id,
                place,
                index,
                tenants,
                kind: self.kind,
                retry_after: self.retry_after,
                edit: self.edit,
            }),
        })
    }
}

fn required(
    value: Option<String>,
    field: &'static str,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    if value.is_none() {
        errors.push(ConfigError::invalid(
            field,
            format!("the {field} pattern is required; set it with .{field}(\"..{PLACEHOLDER}..\")"),
        ));
    }
    value
}

/// Where `{tenant}` stands in a pattern (an identifier's or an issuer's): a whole path segment
/// or the host's whole first label, once, in a URL without query or fragment.
fn place_of(pattern: &str) -> Result<Place, String> {
    if pattern.matches(PLACEHOLDER).count() != 1 {
        return Err(format!(
            "the pattern `{pattern}` must hold `{PLACEHOLDER}` once"
        ));
    }
    // A marker the URL parser keeps as it is, in a host and in a path.
    const MARK: &str = "tenant0placeholder";
    let url = url::Url::parse(&pattern.replace(PLACEHOLDER, MARK))
        .map_err(|e| format!("the pattern `{pattern}` is not a URL: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() || pattern.contains(['?', '#']) {
        return Err(format!(
            "the pattern `{pattern}` may not have a query or a fragment"
        ));
    }
    let host = url.host_str().unwrap_or_default();
    if let Some(rest) = host.strip_prefix(MARK) {
        if !rest.starts_with('.') || rest.contains(MARK) {
            return Err(format!(
                "in `{pattern}`, `{PLACEHOLDER}` must be the host's whole first label (`https://{PLACEHOLDER}.example.com/mcp`)"
            ));
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        return Ok(Place::Host {
            suffix: format!("{rest}{port}"),
        });
    }
    let segments: Vec<&str> = url
        .path()
        .strip_prefix('/')
        .unwrap_or_default()
        .split('/')
        .collect();
    let at = segments.iter().position(|s| *s == MARK);
    match at {
        Some(at) if !url.path().contains("//") && segments.first() != Some(&WELL_KNOWN[0]) => {
            Ok(Place::Path {
                prefix: segments[..at].iter().map(|s| (*s).to_owned()).collect(),
            })
        }
        Some(_) => Err(format!(
            "in `{pattern}`, the path may not hold an empty segment nor start with `/.well-known`"
        )),
        None => Err(format!(
            "in `{pattern}`, `{PLACEHOLDER}` must be a whole path segment (`https://mcp.example.com/{PLACEHOLDER}/mcp`) or the host's whole first label"
        )),
    }
}

fn check_name(name: &str, by_host: bool) -> Result<(), String> {
    let valid = (1..=MAX_TENANT_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !(by_host && name.bytes().any(|b| b.is_ascii_uppercase()));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "tenant `{}` is not a tenant name: 1 to {MAX_TENANT_LEN} ASCII letters, digits and `-`{}",
            name.escape_debug(),
            if by_host {
                ", in lower case (tenants are told by host)"
            } else {
                ""
            }
        ))
    }
}

/// The service behind [`Tenants::router`]: finds the request's tenant, starts it if needed,
/// and passes the request to its router.
struct Dispatch<R> {
    tenants: Tenants<R>,
    make: MakeRouter<R>,
    routers: Arc<Vec<OnceLock<Router>>>,
}

impl<R> Clone for Dispatch<R> {
    fn clone(&self) -> Self {
        Self {
            tenants: self.tenants.clone(),
            make: Arc::clone(&self.make),
            routers: Arc::clone(&self.routers),
        }
    }
}

impl<R: Resource> Service<Request<Body>> for Dispatch<R> {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        axum::routing::future::RouteFuture<Infallible>,
        BoxFuture<'static, Result<Response, Infallible>>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let Some(index) = self.tenants.tenant_of(&request) else {
            return Either::Right(Box::pin(async {
                Ok(StatusCode::NOT_FOUND.into_response())
            }));
        };
        // Started: the tenant's router, no task state to allocate.
        if let Some(router) = self.routers[index].get() {
            return Either::Left(router.clone().call(request));
        }
        let this = self.clone();
        Either::Right(Box::pin(async move {
            let slot = &this.tenants.shared.tenants[index];
            let retry = this.tenants.shared.retry_after;
            match this.tenants.start_slot(index, Some(retry)).await {
                Ok(auth) => {
                    let router = this.routers[index].get_or_init(|| (this.make)(&auth));
                    Ok(router
                        .clone()
                        .call(request)
                        .await
                        .unwrap_or_else(|e| match e {}))
                }
                Err(NotStarted::Wait(left)) => Ok(unavailable(left)),
                Err(NotStarted::Failed(e)) => {
                    if let Some(suppressed) = slot.failures.admit() {
                        if let StartupError::Config(_) = e {
                            tracing::error!(
                                tenant = %slot.name,
                                suppressed,
                                "tenant cannot start, its configuration is refused (fix it; its requests are answered 503 until then): {e}"
                            );
                        } else {
                            tracing::warn!(
                                tenant = %slot.name,
                                issuer = %slot.issuer,
                                suppressed,
                                "tenant could not start; its requests are answered 503, the next attempt in {} s: {e}",
                                retry.as_secs()
                            );
                        }
                    }
                    Ok(unavailable(retry))
                }
            }
        }))
    }
}

/// `503` with `Retry-After`: the tenant's authorization server could not be discovered.
fn unavailable(retry: Duration) -> Response {
    let secs = (retry.as_secs_f64().ceil() as u64).max(1);
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "the authorization server of this tenant cannot be reached; retry later",
        })),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_a_whole_path_segment_in_the_route_and_in_its_metadata_path() {
        let prefix = vec!["t".to_owned()];
        assert_eq!(tenant_in_path("/t/acme/mcp", &prefix), Some("acme"));
        assert_eq!(tenant_in_path("/t/acme", &prefix), Some("acme"));
        assert_eq!(
            tenant_in_path("/.well-known/oauth-protected-resource/t/acme/mcp", &prefix),
            Some("acme")
        );
        assert_eq!(tenant_in_path("/u/acme/mcp", &prefix), None);
        assert_eq!(tenant_in_path("/t/", &prefix), None);
        assert_eq!(tenant_in_path("/acme/mcp", &[]), Some("acme"));
        assert_eq!(tenant_in_path("", &[]), None);
    }

    #[test]
    fn the_placeholder_must_be_a_path_segment_or_the_first_host_label() {
        assert_eq!(
            place_of("https://mcp.example.com/{tenant}/mcp"),
            Ok(Place::Path { prefix: vec![] })
        );
        assert_eq!(
            place_of("https://mcp.example.com/t/{tenant}/mcp"),
            Ok(Place::Path {
                prefix: vec!["t".to_owned()]
            })
        );
        assert_eq!(
            place_of("https://{tenant}.mcp.example.com:8443/mcp"),
            Ok(Place::Host {
                suffix: ".mcp.example.com:8443".to_owned()
            })
        );
        for bad in [
            "https://mcp.example.com/mcp",
            "https://mcp.example.com/x{tenant}/mcp",
            "https://a{tenant}.example.com/mcp",
            "https://{tenant}.example.com/{tenant}",
            "https://mcp.example.com/.well-known/{tenant}",
            "https://mcp.example.com/mcp?/{tenant}",
            "https://mcp.example.com/mcp#/{tenant}",
            "https://mcp.example.com//{tenant}/mcp",
            "https://auth.example.com:{tenant}/",
            "https://user{tenant}@auth.example.com/",
        ] {
            assert!(place_of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tenant_names_are_dns_labels() {
        assert!(check_name("contoso", false).is_ok());
        assert!(check_name("0d6b4f55-c4ac-4b0e-a0a7-0a6a4c4e8d1f", true).is_ok());
        assert!(check_name("Contoso", false).is_ok());
        assert!(check_name("Contoso", true).is_err());
        for bad in ["", "a.b", "a/b", "a%2Fb", "..", &"a".repeat(64)] {
            assert!(check_name(bad, false).is_err(), "{bad}");
        }
    }
}
