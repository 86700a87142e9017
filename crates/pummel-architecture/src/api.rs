//! The public items of a crate, one line each, in a stable order: what a
//! checked-in API list is compared with.
//!
//! With `unreachable_pub` on, an item marked `pub` is reachable from outside
//! the crate, so "public" is read off the source: `pub` items of public
//! modules, the fields and variants of public types, the `pub` methods of
//! inherent impls on them, and `pub use` re-exports.

use std::collections::BTreeSet;

use crate::modules::{flatten_use, is_test_only, CrateSource};

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Every public item of the crate, as sorted lines such as
/// `fn bench::run`, `struct bench::BenchPlan`, `field bench::BenchPlan.url`,
/// `method BenchPlan::segment`, `use ErrorKind = pummel_result::ErrorKind`.
pub fn public_items(source: &CrateSource) -> Vec<String> {
    let mut lines = BTreeSet::new();
    let mut public_types = BTreeSet::new();
    for module in source.modules.iter().filter(|m| m.public) {
        let prefix = |name: &str| {
            let mut p = module.path.clone();
            p.push(name.to_owned());
            p.join("::")
        };
        for item in &module.items {
            match item {
                syn::Item::Fn(f) if is_pub(&f.vis) && !is_test_only(&f.attrs) => {
                    lines.insert(format!("fn {}", prefix(&f.sig.ident.to_string())));
                }
                syn::Item::Struct(s) if is_pub(&s.vis) && !is_test_only(&s.attrs) => {
                    let name = prefix(&s.ident.to_string());
                    public_types.insert(s.ident.to_string());
                    for (i, field) in s.fields.iter().enumerate() {
                        if is_pub(&field.vis) {
                            let field_name = field
                                .ident
                                .as_ref()
                                .map_or_else(|| i.to_string(), ToString::to_string);
                            lines.insert(format!("field {name}.{field_name}"));
                        }
                    }
                    lines.insert(format!("struct {name}"));
                }
                syn::Item::Enum(e) if is_pub(&e.vis) && !is_test_only(&e.attrs) => {
                    let name = prefix(&e.ident.to_string());
                    public_types.insert(e.ident.to_string());
                    for v in &e.variants {
                        lines.insert(format!("variant {name}::{}", v.ident));
                    }
                    lines.insert(format!("enum {name}"));
                }
                syn::Item::Trait(t) if is_pub(&t.vis) => {
                    lines.insert(format!("trait {}", prefix(&t.ident.to_string())));
                }
                syn::Item::Type(t) if is_pub(&t.vis) => {
                    lines.insert(format!("type {}", prefix(&t.ident.to_string())));
                }
                syn::Item::Const(c) if is_pub(&c.vis) => {
                    lines.insert(format!("const {}", prefix(&c.ident.to_string())));
                }
                syn::Item::Static(s) if is_pub(&s.vis) => {
                    lines.insert(format!("static {}", prefix(&s.ident.to_string())));
                }
                syn::Item::Mod(m) if is_pub(&m.vis) && !is_test_only(&m.attrs) => {
                    lines.insert(format!("mod {}", prefix(&m.ident.to_string())));
                }
                syn::Item::Use(u) if is_pub(&u.vis) => {
                    let mut paths = Vec::new();
                    flatten_use(&u.tree, &mut Vec::new(), &mut paths);
                    for path in paths {
                        let last = path.last().cloned().unwrap_or_default();
                        lines.insert(format!("use {} = {}", prefix(&last), path.join("::")));
                    }
                }
                _ => {}
            }
        }
    }
    // Methods: `pub fn` in inherent impls of public types, wherever the impl is.
    for module in &source.modules {
        for item in &module.items {
            let syn::Item::Impl(imp) = item else { continue };
            if imp.trait_.is_some() || is_test_only(&imp.attrs) {
                continue;
            }
            let Some(ty) = type_name(&imp.self_ty) else {
                continue;
            };
            if !public_types.contains(&ty) {
                continue;
            }
            for impl_item in &imp.items {
                match impl_item {
                    syn::ImplItem::Fn(f) if is_pub(&f.vis) => {
                        lines.insert(format!("method {ty}::{}", f.sig.ident));
                    }
                    syn::ImplItem::Const(c) if is_pub(&c.vis) => {
                        lines.insert(format!("const {ty}::{}", c.ident));
                    }
                    _ => {}
                }
            }
        }
    }
    lines.into_iter().collect()
}
