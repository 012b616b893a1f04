//! The answers of Graph's resources, the same whether a request comes alone
//! or inside a `$batch`: an operation (GET, `$select`), a collection (POST
//! creates a team or chat and its operation), anything else 404.

use hyper::header::{HeaderValue, ALLOW, LOCATION};
use hyper::{Method, StatusCode};
use percent_encoding::percent_decode_str;

use crate::graph_answer::Answer;
use crate::graph_format::RequestIds;
use crate::graph_path::Route;
use crate::operations::GetError;
use crate::server_state::State;

fn decode(segment: &str) -> std::borrow::Cow<'_, str> {
    percent_decode_str(segment).decode_utf8_lossy()
}

fn not_found(ids: &RequestIds) -> Answer {
    Answer::error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "The requested resource does not exist.",
        ids,
    )
}

fn method_not_allowed(allow: &'static str, ids: &RequestIds) -> Answer {
    let mut a = Answer::error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "The HTTP method is not allowed on this resource.",
        ids,
    );
    a.headers.insert(ALLOW, HeaderValue::from_static(allow));
    a
}

/// Answers `method` on `route` (token already checked, limiter passed).
pub(crate) fn answer(
    state: &State,
    method: &Method,
    route: Route<'_>,
    query: Option<&str>,
    ids: &RequestIds,
) -> Answer {
    match route {
        Route::Operation {
            version,
            kind,
            id,
            op,
        } => {
            if method != Method::GET && method != Method::HEAD {
                return method_not_allowed("GET, HEAD", ids);
            }
            let (id, op) = (decode(id), decode(op));
            if id == "forbidden" {
                return Answer::error(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "Caller does not have access to this resource.",
                    ids,
                );
            }
            let select = select_names(query);
            match state
                .operations
                .get(kind, version, &id, &op, select.as_deref())
            {
                Ok(body) => Answer::json(StatusCode::OK, body, ids),
                Err(GetError::NotFound) => not_found(ids),
                Err(GetError::UnknownProperty(p)) => Answer::error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!(
                        "Could not find a property named '{p}' on type 'microsoft.graph.teamsAsyncOperation'."
                    ),
                    ids,
                ),
            }
        }
        Route::Collection { kind, .. } => {
            if method != Method::POST {
                return method_not_allowed("POST", ids);
            }
            let Some((id, op)) = state.operations.create(kind) else {
                return Answer::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailable",
                    "The emulator holds as many operations as it can; reset it.",
                    ids,
                );
            };
            let mut a = Answer::empty(StatusCode::ACCEPTED, ids);
            let location = format!("/{}('{id}')/operations('{op}')", kind.collection());
            if let Ok(v) = HeaderValue::from_str(&location) {
                a.headers.insert(LOCATION, v);
            }
            a
        }
        Route::Batch { .. } => Answer::error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "A $batch request cannot be nested inside another.",
            ids,
        ),
        Route::Unknown => not_found(ids),
    }
}

/// The property names of `$select` in a query, if any.
fn select_names(query: Option<&str>) -> Option<Vec<String>> {
    for pair in query?.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(k) != "$select" {
            continue;
        }
        let v = v.replace('+', " ");
        let names: Vec<String> = decode(&v)
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        return (!names.is_empty()).then_some(names);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_parsing() {
        assert_eq!(select_names(None), None);
        assert_eq!(select_names(Some("a=b")), None);
        assert_eq!(
            select_names(Some("x=1&$select=id,status")),
            Some(vec!["id".to_owned(), "status".to_owned()])
        );
        assert_eq!(
            select_names(Some("%24select=id%2C%20status")),
            Some(vec!["id".to_owned(), "status".to_owned()])
        );
        assert_eq!(select_names(Some("$select=")), None);
    }
}
