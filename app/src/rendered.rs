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
//! deal board and the security page use it, and the record pages, the
//! persons list and the overview's card.
//!
//! [`now`] is the same render without the second call to answer: the
//! page's frame (header) is rendered at once, into one string, for the
//! same reason (no future per element). [`PerLanguage`] keeps, for the
//! process, the markup of parts that are the same for every request in a
//! language (the footer, the header's search box, the overview's fixed
//! text).
//!
//! # Security
//! The kept string is the view's own render (`RenderHtml::to_html`): every
//! value in it (names, titles, headers the request carried) was escaped
//! there, as in any other render. Nothing but such a render is ever passed
//! as markup (`render` takes a view, not a string). It lives as long as
//! the request's page, so it never carries one request's data to another.
//! A [`PerLanguage`] string outlives the request and is shared by every
//! workspace, so its view may hold nothing but catalog text and constants
//! in the language it is given: it reads no context, no tenant and no
//! request (its callers say so where they use it). The header's links are
//! kept likewise, per language, offered links and current link
//! (`layout::nav_html` says why that is safe).

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

/// `view` rendered now, synchronously, as one string of markup (see the
/// module's docs: the same render, escaping included, as in any page).
#[cfg(feature = "ssr")]
pub(crate) fn now(view: impl RenderHtml) -> AnyView {
    leptos::tachys::html::InertElement::new(view.to_html()).into_any()
}

/// Markup that depends only on the language, rendered once per language
/// and kept for the process (see the module's `# Security`: the view
/// holds catalog text and constants only).
#[cfg(feature = "ssr")]
pub(crate) struct PerLanguage {
    html: [std::sync::OnceLock<String>; 2],
}

#[cfg(feature = "ssr")]
impl PerLanguage {
    pub(crate) const fn new() -> Self {
        Self {
            html: [std::sync::OnceLock::new(), std::sync::OnceLock::new()],
        }
    }

    /// The markup of `view(lang)`, rendered on the language's first call.
    pub(crate) fn render<V: RenderHtml>(
        &'static self,
        lang: crate::i18n::Lang,
        view: impl FnOnce(crate::i18n::Lang) -> V,
    ) -> AnyView {
        let slot = match lang {
            crate::i18n::Lang::En => &self.html[0],
            crate::i18n::Lang::Nl => &self.html[1],
        };
        let html: &'static str = slot.get_or_init(|| view(lang).to_html());
        leptos::tachys::html::InertElement::new(html).into_any()
    }
}
