//! A Postman request's body as a scenario body: raw (JSON when it parses, else text with the
//! content type Postman gives its language), `urlencoded` as a form, `formdata` as a multipart
//! body, GraphQL as the JSON Postman sends.

use super::file::{KeyValue, RequestBody};
use super::{Converter, BOUNDARY};
use crate::model::{Body, Json, RequestStep};
use crate::secrets;
use crate::text::Text;

impl Converter {
    pub(super) fn body(&mut self, step: &mut RequestStep, body: &RequestBody) {
        let content_type = step
            .headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .and_then(|(_, v)| v.as_literal())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let has_content_type = step.headers.iter().any(|(n, _)| n == "content-type");
        // Postman's default language for a raw body is text.
        let language = body
            .options
            .as_ref()
            .and_then(|o| o.pointer("/raw/language"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("text");
        let converted = match body.mode.as_deref().unwrap_or("raw") {
            "raw" => {
                let raw = body.raw.clone().unwrap_or_default();
                if raw.trim().is_empty() {
                    None
                } else if language == "json" || content_type.contains("json") {
                    match serde_json::from_str::<serde_json::Value>(&raw) {
                        Ok(value) => Some(Body::Json(self.json(&value))),
                        Err(_) => {
                            // `{"rating": {{rating}}}` is not JSON until Postman fills it in:
                            // sent as text, the template fills it in the same way.
                            if !has_content_type {
                                step.headers.push((
                                    "content-type".to_owned(),
                                    Text::lit("application/json"),
                                ));
                            }
                            Some(Body::Raw(self.template(&raw)))
                        }
                    }
                } else {
                    // Postman sends a raw body with the type of its language unless the request
                    // sets one.
                    if !has_content_type {
                        step.headers.push((
                            "content-type".to_owned(),
                            Text::lit(raw_content_type(language)),
                        ));
                    }
                    Some(Body::Raw(self.template(&raw)))
                }
            }
            "urlencoded" => Some(Body::Form(self.fields(&body.urlencoded))),
            "formdata" => self.multipart(step, &body.formdata),
            "graphql" => body.graphql.as_ref().map(|g| self.graphql(step, g)),
            "file" => {
                // The path is one on the machine the collection was exported from (or relative
                // to Postman's working directory there): a `file:` naming it would stop the
                // scenario from loading anywhere else, so the user is told what to copy.
                let src = body
                    .file
                    .as_ref()
                    .and_then(|f| f.get("src"))
                    .and_then(serde_json::Value::as_str)
                    .filter(|s| !s.trim().is_empty());
                step.comments.push(match src {
                    Some(src) => format!(
                        "not converted: the body is the file {src} of the machine the collection comes from; copy it beside this file and add `file: NAME` to the request"
                    ),
                    None => "not converted: the body is a file the collection does not name".to_owned(),
                });
                None
            }
            _ => None,
        };
        if matches!(converted, Some(Body::Json(_))) && content_type.starts_with("application/json")
        {
            step.headers.retain(|(n, _)| n != "content-type");
        }
        if matches!(converted, Some(Body::Form(_)))
            && content_type.starts_with("application/x-www-form-urlencoded")
        {
            step.headers.retain(|(n, _)| n != "content-type");
        }
        step.body = converted;
    }

    /// A GraphQL body as Postman sends it: `query`, `operationName` and `variables`, which
    /// Postman keeps as JSON text, fills in and sends as it is (left out when empty).
    pub(super) fn graphql(&mut self, step: &mut RequestStep, graphql: &serde_json::Value) -> Body {
        use serde_json::Value;
        let mut object = serde_json::Map::new();
        for key in ["query", "operationName"] {
            if let Some(text) = graphql.get(key).and_then(Value::as_str) {
                object.insert(key.to_owned(), Value::from(text));
            }
        }
        let variables = match graphql.get("variables") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => None,
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(parsed) => Some(parsed),
                // `{"id": {{appId}}}` is not JSON until Postman fills it in: the body is sent as
                // text, which the template fills in the same way (as for a raw JSON body).
                Err(_) => {
                    let mut body = Text::lit("{");
                    for (key, value) in &object {
                        body.append(Text::lit(format!("{}:", Value::from(key.as_str()))));
                        body.append(self.template(&value.to_string()));
                        body.append(Text::lit(","));
                    }
                    body.append(Text::lit("\"variables\":"));
                    body.append(self.template(text));
                    body.append(Text::lit("}"));
                    if !step.headers.iter().any(|(n, _)| n == "content-type") {
                        step.headers
                            .push(("content-type".to_owned(), Text::lit("application/json")));
                    }
                    return Body::Raw(body);
                }
            },
            Some(other) => Some(other.clone()),
        };
        if let Some(variables) = variables {
            object.insert("variables".to_owned(), variables);
        }
        Body::Json(self.json(&Value::Object(object)))
    }

    pub(super) fn fields(&mut self, list: &[KeyValue]) -> Vec<(String, Text)> {
        let mut out = Vec::new();
        for kv in list.iter().filter(|kv| !kv.disabled) {
            let Some(key) = kv.key.clone() else { continue };
            let mut value = self.template(&kv.value_text());
            if secrets::is_secret_name(&key) {
                self.hide(&mut value, &key, &format!("form field {key}"));
            }
            out.push((key, value));
        }
        out
    }

    /// `formdata` as a `multipart/form-data` body written out (text fields; file fields cannot be
    /// embedded and are reported).
    pub(super) fn multipart(&mut self, step: &mut RequestStep, list: &[KeyValue]) -> Option<Body> {
        let mut body = Text::default();
        let mut files = 0;
        for kv in list.iter().filter(|kv| !kv.disabled) {
            if kv.kind.as_deref() == Some("file") || kv.src.is_some() {
                files += 1;
                continue;
            }
            let Some(key) = &kv.key else { continue };
            body.append(Text::lit(format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n"
            )));
            let mut value = self.template(&kv.value_text());
            if secrets::is_secret_name(key) {
                self.hide(&mut value, key, &format!("form field {key}"));
            }
            body.append(value);
            body.append(Text::lit("\r\n"));
        }
        if files > 0 {
            step.comments.push(format!(
                "{files} file field(s) of the form data are not converted"
            ));
        }
        if body.0.is_empty() {
            return None;
        }
        body.append(Text::lit(format!("--{BOUNDARY}--\r\n")));
        step.headers.retain(|(n, _)| n != "content-type");
        step.headers.push((
            "content-type".to_owned(),
            Text::lit(format!("multipart/form-data; boundary={BOUNDARY}")),
        ));
        Some(Body::Raw(body))
    }

    pub(super) fn json(&mut self, value: &serde_json::Value) -> Json {
        let mut json = Json::from_value(value);
        json.visit_leaves(None, &mut |key, leaf| {
            if let Json::String(text) = leaf {
                let raw = text.as_literal().unwrap_or_default();
                let mut converted = self.template(&raw);
                if key.is_some_and(secrets::is_secret_name) {
                    self.hide(
                        &mut converted,
                        key.unwrap_or("secret"),
                        &format!("JSON field {}", key.unwrap_or("")),
                    );
                }
                *text = converted;
            }
        });
        json
    }
}

/// The `Content-Type` Postman gives a raw body of this language (`options.raw.language`);
/// text for one it does not know.
fn raw_content_type(language: &str) -> &'static str {
    match language {
        "json" => "application/json",
        "xml" => "application/xml",
        "html" => "text/html",
        "javascript" => "application/javascript",
        _ => "text/plain",
    }
}
