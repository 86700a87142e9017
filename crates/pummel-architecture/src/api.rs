//! The public items of a crate, one line each, in a stable order: what a
//! checked-in API list is compared with.
//!
//! With `unreachable_pub` on, an item marked `pub` is reachable from outside
//! the crate, so "public" is read off the source: `pub` items of public
//! modules, the fields and variants of public types, the `pub` methods of
//! inherent impls on them, and `pub use` re-exports.

use std::collections::BTreeSet;

use crate::modules::{flatten_use_named, is_test_only, CrateSource};

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
/// `fn bench::run`, `struct bench::BenchPlan`, `field BenchPlan.url`,
/// `method BenchPlan::segment`, `use ErrorKind = pummel_result::ErrorKind`.
///
/// The fields, variants and methods of a public type are listed under the
/// type's name wherever it is defined, so a type re-exported from a private
/// module shows its whole surface.
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
            if let Some(line) = public_item(item, &prefix, &mut public_types) {
                lines.insert(line);
            }
            if let syn::Item::Use(u) = item {
                if is_pub(&u.vis) {
                    let mut paths = Vec::new();
                    flatten_use_named(&u.tree, &mut Vec::new(), &mut paths);
                    for (path, name) in paths {
                        lines.insert(format!("use {} = {}", prefix(&name), path.join("::")));
                        public_types.insert(path.last().cloned().unwrap_or_default());
                    }
                }
            }
        }
    }
    for module in &source.modules {
        for item in &module.items {
            surface(item, &public_types, &mut lines);
        }
    }
    lines.into_iter().collect()
}

/// The line for a `pub` item of a public module (not `use`), noting public
/// type names.
fn public_item(
    item: &syn::Item,
    prefix: &dyn Fn(&str) -> String,
    public_types: &mut BTreeSet<String>,
) -> Option<String> {
    let (kind, ident) = match item {
        syn::Item::Fn(f) if is_pub(&f.vis) && !is_test_only(&f.attrs) => ("fn", &f.sig.ident),
        syn::Item::Struct(s) if is_pub(&s.vis) && !is_test_only(&s.attrs) => {
            public_types.insert(s.ident.to_string());
            ("struct", &s.ident)
        }
        syn::Item::Enum(e) if is_pub(&e.vis) && !is_test_only(&e.attrs) => {
            public_types.insert(e.ident.to_string());
            ("enum", &e.ident)
        }
        syn::Item::Trait(t) if is_pub(&t.vis) => ("trait", &t.ident),
        syn::Item::Type(t) if is_pub(&t.vis) => ("type", &t.ident),
        syn::Item::Const(c) if is_pub(&c.vis) => ("const", &c.ident),
        syn::Item::Static(s) if is_pub(&s.vis) => ("static", &s.ident),
        syn::Item::Mod(m) if is_pub(&m.vis) && !is_test_only(&m.attrs) => ("mod", &m.ident),
        _ => return None,
    };
    Some(format!("{kind} {}", prefix(&ident.to_string())))
}

/// The public fields, variants and methods of `item` when it is (or
/// implements) one of the public types.
fn surface(item: &syn::Item, public_types: &BTreeSet<String>, lines: &mut BTreeSet<String>) {
    match item {
        syn::Item::Struct(s) if is_pub(&s.vis) && public_types.contains(&s.ident.to_string()) => {
            for (i, field) in s.fields.iter().enumerate() {
                if is_pub(&field.vis) {
                    let name = field
                        .ident
                        .as_ref()
                        .map_or_else(|| i.to_string(), ToString::to_string);
                    lines.insert(format!("field {}.{name}", s.ident));
                }
            }
        }
        syn::Item::Enum(e) if is_pub(&e.vis) && public_types.contains(&e.ident.to_string()) => {
            for v in &e.variants {
                lines.insert(format!("variant {}::{}", e.ident, v.ident));
            }
        }
        syn::Item::Impl(imp) if imp.trait_.is_none() && !is_test_only(&imp.attrs) => {
            let Some(ty) = type_name(&imp.self_ty).filter(|t| public_types.contains(t)) else {
                return;
            };
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
        _ => {}
    }
}
