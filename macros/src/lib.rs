//! `#[corio::main]` and `#[corio::test]`: run an `async fn` on a fresh corio runtime.
//!
//! Written on `proc_macro` alone (no syn/quote) to keep corio's build light: the attribute
//! only needs to drop the `async` keyword and wrap the body.
#![deny(missing_docs)]

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Run `async fn main` on a corio runtime.
///
/// ```ignore
/// #[corio::main]
/// async fn main() {
///     corio::time::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
///
/// Accepts `#[corio::main(seed = 7)]` like `#[corio::test]`, and `crate = "path"` for a crate
/// that reaches corio through a re-export (`#[corio::main(crate = "my_rt::corio")]`).
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, false)
}

/// Run an `async fn` test on a fresh corio runtime; `#[corio::test(seed = 7)]` runs it with
/// deterministic shuffled scheduling (see `Builder::seed`), `#[corio::test(start_paused =
/// true)]` on paused virtual time (see `Builder::start_paused`); both may be given.
///
/// ```ignore
/// #[corio::test(seed = 7)]
/// async fn spawns() {
///     assert_eq!(corio::spawn(async { 1 }).await.unwrap(), 1);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, true)
}

fn expand(attr: TokenStream, item: TokenStream, is_test: bool) -> TokenStream {
    let settings = match parse_settings(attr) {
        Ok(settings) => settings,
        Err(message) => return compile_error(&message, Span::call_site()),
    };
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    // The body is the last token: a brace group.
    let body = match tokens.pop() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g,
        _ => return compile_error("expected an `async fn` with a body", Span::call_site()),
    };
    let async_at = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "async"));
    let Some(async_at) = async_at else {
        return compile_error(
            "the function must be `async fn` (corio runs its body on the event loop)",
            body.span(),
        );
    };
    tokens.remove(async_at);

    // ::corio::Runtime::builder()[.seed(N)][.start_paused(true)].build().expect(..)
    //     .block_on(async move BODY)
    let path = settings.krate.as_deref().unwrap_or("::corio");
    let mut runtime: TokenStream = match format!("{path}::Runtime::builder()").parse() {
        Ok(tokens) => tokens,
        Err(_) => {
            return compile_error(
                &format!("`crate = \"{path}\"` is not a path"),
                Span::call_site(),
            )
        }
    };
    if let Some(seed) = settings.seed {
        runtime.extend(format!(".seed({seed}u64)").parse::<TokenStream>().unwrap());
    }
    if settings.start_paused {
        runtime.extend(".start_paused(true)".parse::<TokenStream>().unwrap());
    }
    runtime.extend(
        ".build().expect(\"corio: cannot create the runtime\").block_on"
            .parse::<TokenStream>()
            .unwrap(),
    );
    let mut argument: TokenStream = "async move".parse().unwrap();
    argument.extend([TokenTree::Group(body)]);
    runtime.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        argument,
    ))]);
    let call: Vec<TokenTree> = runtime.into_iter().collect();
    let new_body = Group::new(Delimiter::Brace, call.into_iter().collect());

    let mut out = TokenStream::new();
    if is_test {
        out.extend(
            "#[::core::prelude::v1::test]"
                .parse::<TokenStream>()
                .unwrap(),
        );
    }
    out.extend(tokens);
    out.extend([TokenTree::Group(new_body)]);
    out
}

/// The attribute's settings: `seed = <u64>` and `start_paused = <bool>`, comma-separated.
#[derive(Default)]
struct Settings {
    seed: Option<u64>,
    start_paused: bool,
    /// `crate = "path"`: where corio is, for crates that re-export it (default `::corio`).
    krate: Option<String>,
}

/// Accepts nothing, or `seed = <integer>` and/or `start_paused = true|false`.
fn parse_settings(attr: TokenStream) -> Result<Settings, String> {
    let tokens: Vec<TokenTree> = attr.into_iter().collect();
    let mut settings = Settings::default();
    for arg in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
        match arg {
            [] => {}
            [TokenTree::Ident(name), TokenTree::Punct(eq), value] if eq.as_char() == '=' => {
                let text = value.to_string();
                match name.to_string().as_str() {
                    "seed" => {
                        let digits = text.trim_end_matches("u64").replace('_', "");
                        let seed = digits.parse::<u64>().map_err(|_| {
                            format!("`seed` must be an unsigned integer, got `{text}`")
                        })?;
                        settings.seed = Some(seed);
                    }
                    "crate" => {
                        let path = text.trim_matches('"');
                        if !text.starts_with('"') || path.is_empty() {
                            return Err(format!(
                                "`crate` must be a string with a path, like `crate = \"my_crate::corio\"`, got `{text}`"
                            ));
                        }
                        settings.krate = Some(path.to_owned());
                    }
                    "start_paused" => {
                        settings.start_paused = match text.as_str() {
                            "true" => true,
                            "false" => false,
                            _ => return Err(format!("`start_paused` must be true or false, got `{text}`")),
                        };
                    }
                    other => return Err(format!("unknown attribute argument `{other}`: expected `seed = <u64>`, `start_paused = <bool>` or `crate = \"<path>\"`")),
                }
            }
            _ => {
                return Err(
                    "unknown attribute arguments: expected nothing, `seed = <u64>` or `start_paused = <bool>`"
                        .into(),
                )
            }
        }
    }
    Ok(settings)
}

fn compile_error(message: &str, span: Span) -> TokenStream {
    let mut lit = Literal::string(message);
    lit.set_span(span);
    let mut group = Group::new(Delimiter::Parenthesis, TokenTree::Literal(lit).into());
    group.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut semi = Punct::new(';', Spacing::Alone);
    semi.set_span(span);
    [
        TokenTree::Ident(Ident::new("compile_error", span)),
        TokenTree::Punct(bang),
        TokenTree::Group(group),
        TokenTree::Punct(semi),
    ]
    .into_iter()
    .collect()
}
