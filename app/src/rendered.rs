//! A page body rendered once per request, synchronously (issue 15).
//!
//! `<Suspense>` calls its children once more after the data arrived (to
//! look for resources read behind it) and throws that view away, then
//! calls them again to render: a page's whole body (hundreds of rows or
//! cards at scale) was built twice. And rendered through the async path,
//! every row became futures joined with the others, its view moved by
//! value several times (callgrind: most of those pages' instructions). On
//! the server the body is rendered once, synchronously, into one string
//! kept here, and both calls answer that string. The visitors page, the
//! deal board and the security page use it.
//!
//! # Security
//! The kept string is the view's own render (`RenderHtml::to_html`): every
//! value in it (names, titles, headers the request carried) was escaped
//! there, as in any other render. Nothing but such a render is ever passed
//! as markup (`render` takes a view, not a string). It lives as long as
//! the request's page, so it never carries one request's data to another.

#[cfg(feature = "ssr")]
use leptos::prelude::*;

/// The once-rendered body of one page view. Cloned into the Suspense
/// closure; every clone shares the one string.
#[derive(Clone, Default)]
pub(crate) struct RenderedOnce {
    #[cfg(feature = "ssr")]
    html: std::sync::Arc<std::sync::OnceLock<String>>,
}

impl RenderedOnce {
    /// The body's markup: `body` is built and rendered on the first call
    /// only; later calls answer the kept string.
    #[cfg(feature = "ssr")]
    pub(crate) fn render<V: RenderHtml>(&self, body: impl FnOnce() -> V) -> AnyView {
        let html = self.html.get_or_init(|| body().to_html());
        leptos::tachys::html::InertElement::new(html.clone()).into_any()
    }
}
