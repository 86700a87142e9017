//! The shop's HTML pages: small, no assets, and the details a real application has — a hidden
//! CSRF input in forms, the token in a `<meta>` tag for scripts, links with ids, a script that
//! calls a JSON API with the token in a header.

use super::state::Session;

fn page(title: &str, csrf: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <meta name=\"csrf-token\" content=\"{csrf}\">\n</head>\n<body>\n<h1>{title}</h1>\n{body}</body>\n</html>\n"
    )
}

pub(crate) fn login(session: &Session) -> String {
    let csrf = &session.csrf;
    page(
        "Log in",
        csrf,
        &format!(
            "<form method=\"post\" action=\"/shop/login\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
             <label>User <input name=\"username\" id=\"username\"></label>\n\
             <label>Password <input type=\"password\" name=\"password\" id=\"password\"></label>\n\
             <button type=\"submit\" id=\"login\">Log in</button>\n</form>\n"
        ),
    )
}

pub(crate) fn items(session: &Session) -> String {
    let mut list = String::from("<ul>\n");
    for item in &session.items {
        list.push_str(&format!(
            "<li><a class=\"item\" href=\"/shop/items/{}\">{}</a></li>\n",
            item.id, item.name
        ));
    }
    list.push_str("</ul>\n");
    let user = session.user.as_deref().unwrap_or("");
    page(
        "Items",
        &session.csrf,
        &format!("<p>Signed in as {}</p>\n{list}", escape(user)),
    )
}

pub(crate) fn item(session: &Session, id: u32, name: &str) -> String {
    page(
        name,
        &session.csrf,
        &format!(
            "<label>Quantity <input id=\"quantity\" type=\"number\" value=\"1\" min=\"1\" max=\"10\"></label>\n\
             <button id=\"order\">Order</button>\n\
             <a id=\"view\" hidden>View the order</a>\n\
             <script>\n\
             document.getElementById('order').addEventListener('click', async () => {{\n\
             \x20 const csrf = document.querySelector('meta[name=csrf-token]').content;\n\
             \x20 const cart = await (await fetch('/shop/api/cart', {{ headers: {{ 'x-csrf-token': csrf }} }})).json();\n\
             \x20 const response = await fetch('/shop/api/orders', {{\n\
             \x20   method: 'POST',\n\
             \x20   headers: {{ 'content-type': 'application/json', 'x-csrf-token': csrf }},\n\
             \x20   body: JSON.stringify({{ cart_id: cart.cart_id, item_id: {id}, quantity: Number(document.getElementById('quantity').value) }}),\n\
             \x20 }});\n\
             \x20 const order = await response.json();\n\
             \x20 const link = document.getElementById('view');\n\
             \x20 link.href = '/shop/orders/' + order.order_id;\n\
             \x20 link.hidden = false;\n\
             }});\n\
             </script>\n"
        ),
    )
}

pub(crate) fn order(session: &Session, id: &str, item: &str, quantity: u32) -> String {
    let csrf = &session.csrf;
    page(
        "Order confirmed",
        csrf,
        &format!(
            "<p id=\"confirmation\">Order {id}: {quantity} × {item}</p>\n\
             <form method=\"post\" action=\"/shop/logout\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
             <button type=\"submit\" id=\"logout\">Log out</button>\n</form>\n"
        ),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
