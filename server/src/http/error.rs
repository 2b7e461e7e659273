//! The one error shape of every JSON answer lives in `app::error`
//! (`{"error": {"code": "…", "message": "…"}}`, the status set from the
//! code), shared by axum handlers, server functions and the pages' error
//! view. Re-exported here for the routers.

pub use app::error::AppError;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    async fn body(e: AppError) -> (StatusCode, serde_json::Value, Option<String>) {
        let resp = e.into_response();
        let status = resp.status();
        let retry = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or_default(),
            retry,
        )
    }

    /// Every status class answers the one envelope, with its code.
    #[tokio::test]
    async fn every_class_has_the_envelope() {
        let cases = [
            (AppError::bad_request("b"), 400, "bad_request"),
            (AppError::unauthenticated("u"), 401, "unauthenticated"),
            (AppError::forbidden("f"), 403, "forbidden"),
            (AppError::not_found("n"), 404, "not_found"),
            (AppError::conflict("c"), 409, "conflict"),
            (AppError::too_large("t"), 413, "payload_too_large"),
            (AppError::validation("v"), 422, "validation"),
            (AppError::rate_limited("r", 3), 429, "rate_limited"),
            (
                AppError::internal("req-1", &"secret cause"),
                500,
                "internal",
            ),
            (AppError::unavailable("d"), 503, "unavailable"),
        ];
        for (e, status, code) in cases {
            let (s, json, retry) = body(e).await;
            assert_eq!(s.as_u16(), status);
            assert_eq!(json["error"]["code"], code, "{json}");
            assert!(json["error"]["message"].is_string(), "{json}");
            assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
            assert_eq!(retry.is_some(), status == 429);
        }
        let (_, json, _) = body(AppError::internal("req-1", &"secret cause")).await;
        let msg = json["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("req-1") && !msg.contains("secret"), "{msg}");
        let (s, json, _) = body(AppError::validation("x").with_code("reason_required")).await;
        assert_eq!(
            (s.as_u16(), &json["error"]["code"]),
            (422, &"reason_required".into())
        );
    }
}
