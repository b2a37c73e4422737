//! crossbar-api: REST API and live views over HTTP (axum).
