//! Billing around the CRM and the demo: an organisation with a retainer
//! or invoices is not deleted (409, named, kept); the header links to
//! `/billing` and `/settings/jobs` only for roles that may read them; the
//! demo seed's retainer is billed once, with its issuing enqueued; an
//! invoice's PDF is stored sealed and downloads with `billing.read` only,
//! audited, as an attachment.

use axum::http::StatusCode;
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use metiva_db::CompanyId;
use metiva_db::billing::demo::DEMO_RETAINER;

use crate::crm::script;
use crate::world::{DE_VRIES, World, call, call_bytes, get_with};

const KEPT: &str = "00000000-0000-4000-8000-0000000000d1";
const BILLED: &str = "00000000-0000-4000-8000-0000000000d2";
const FREE: &str = "00000000-0000-4000-8000-0000000000d3";

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(w: &World, sql: &str) -> i64 {
    let sql = sql.to_string();
    w.tdb
        .database()
        .tenant(&CompanyId::parse(DE_VRIES).unwrap(), async move |tc| {
            #[expect(
                clippy::disallowed_methods,
                reason = "a test reads rows under the tenant binding"
            )]
            let n = diesel::sql_query(sql).get_result::<N>(tc.conn()).await?.n;
            Ok(n)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_organisation_with_a_retainer_or_invoices_is_kept_with_a_409() {
    let w = World::new().await;
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO organisations (company_id, id, name) VALUES
             ('{DE_VRIES}', '{KEPT}', 'Retainer BV'), ('{DE_VRIES}', '{BILLED}', 'Factuur BV'), ('{DE_VRIES}', '{FREE}', 'Los BV');
         INSERT INTO retainers (company_id, organisation_id, description, monthly_cents, vat_rate, starts_on, billing_day)
             VALUES ('{DE_VRIES}', '{KEPT}', 'SEO', 100000, 21, '2026-12-01', 1);
         INSERT INTO invoices (company_id, organisation_id, year, seq, status, issued_on, due_on, subtotal_cents, vat_cents, total_cents)
             VALUES ('{DE_VRIES}', '{BILLED}', 2026, 1, 'paid', '2026-11-01', '2026-11-15', 100, 21, 121)"
    ))
    .await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    for id in [KEPT, BILLED] {
        let r = call(
            &w.dashboard,
            script(
                "/api/delete_organisation",
                &owner,
                &[("id", id), ("version", "1")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{id}: {}", r.body);
        assert!(r.body.contains("retainers or invoices"), "{id}: {}", r.body);
    }
    assert_eq!(
        count(
            &w,
            &format!("SELECT count(*) AS n FROM organisations WHERE id IN ('{KEPT}', '{BILLED}')")
        )
        .await,
        2,
        "both kept"
    );
    // One without billing records still goes.
    let r = call(
        &w.dashboard,
        script(
            "/api/delete_organisation",
            &owner,
            &[("id", FREE), ("version", "1")],
        ),
    )
    .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    assert_eq!(
        count(
            &w,
            &format!("SELECT count(*) AS n FROM organisations WHERE id = '{FREE}'")
        )
        .await,
        0
    );
}

#[tokio::test]
async fn the_header_links_billing_and_jobs_only_for_roles_that_may_read_them() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let finance = w.sign_in("finance@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let page = async |t: &str| {
        let p = call(&w.dashboard, get_with("/", &[("metiva_session", t)])).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        (
            p.body.contains("href=\"/billing\""),
            p.body.contains("href=\"/settings/jobs\""),
        )
    };
    assert_eq!(page(&owner).await, (true, true));
    assert_eq!(page(&finance).await, (true, false));
    assert_eq!(page(&sales).await, (false, false));
}

#[tokio::test]
async fn the_demo_retainer_is_billed_once_with_its_issuing_enqueued() {
    let w = World::new().await;
    assert!(w.owner_db.seed_demo_billing().await.unwrap());
    assert!(
        !w.owner_db.seed_demo_billing().await.unwrap(),
        "a second seed adds nothing"
    );
    assert_eq!(count(&w, "SELECT count(*) AS n FROM retainers").await, 1);
    // Last month's and this month's periods (billing day 1).
    assert_eq!(
        count(
            &w,
            "SELECT count(*) AS n FROM invoices WHERE status = 'draft'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &w,
            "SELECT count(*) AS n FROM jobs WHERE kind = 'billing.issue_invoice' AND state = 'queued'"
        )
        .await,
        2
    );
    let finance = w.sign_in("finance@devries.example", DE_VRIES).await;
    let p = call(
        &w.dashboard,
        get_with("/billing", &[("metiva_session", &finance)]),
    )
    .await;
    assert!(
        p.body.contains(&DEMO_RETAINER.replace('&', "&amp;"))
            && p.body.contains("Bloemenhuis Hendriks"),
        "{}",
        p.body
    );
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}

#[tokio::test]
async fn the_invoice_pdf_is_stored_sealed_and_downloads_with_a_permission_check() {
    use metiva_db::billing::{connection, pdf};
    use metiva_db::files::FileStore;

    let w = World::new().await;
    assert!(w.owner_db.seed_demo_billing().await.unwrap());
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let db = w.tdb.database();
    let keys = w.auth.field_keys.clone();
    let data_dir = crate::test_config(&w.tdb.app_url()).data_dir;
    let files = FileStore::local(&data_dir).unwrap();
    let id = db
        .tenant(&company, async |tc| {
            #[expect(
                clippy::disallowed_methods,
                reason = "a test reads rows under the tenant binding"
            )]
            let row = diesel::sql_query("SELECT id FROM invoices ORDER BY seq DESC LIMIT 1")
                .get_result::<Id>(tc.conn())
                .await?;
            Ok(row.id)
        })
        .await
        .unwrap();
    // Rendered and stored as the job does; a second run adopts the file.
    connection::load_key(&db, &keys, &company).await.unwrap();
    let render = async || {
        db.tenant(&company, async |tc| {
            pdf::render_and_store(tc, &files, &keys, id).await
        })
        .await
        .unwrap()
        .unwrap()
    };
    let first = render().await;
    assert_eq!(render().await, first, "at most one PDF per invoice");
    // Sealed at rest: neither the PDF header nor the customer in clear.
    let at_rest =
        std::fs::read(data_dir.join(format!("files/{DE_VRIES}/invoices/{id}.pdf"))).unwrap();
    let clear = String::from_utf8_lossy(&at_rest);
    assert!(!clear.contains("%PDF") && !clear.contains("Bloemenhuis"));

    let finance = w.sign_in("finance@devries.example", DE_VRIES).await;
    let p = call(
        &w.dashboard,
        get_with("/billing", &[("metiva_session", &finance)]),
    )
    .await;
    let href = format!("/billing/invoices/{id}/pdf");
    assert!(p.body.contains(&href), "{}", p.body);
    let (r, pdf_bytes) = call_bytes(
        &w.dashboard,
        get_with(&href, &[("metiva_session", &finance)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let h = |k: &str| {
        r.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(h("content-type"), "application/pdf");
    assert!(h("content-disposition").starts_with("attachment; filename=\"factuur-"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("cache-control"), "no-store");
    // EUR 1,250.00 + 21% = EUR 1,512.50, Dutch (a domestic customer).
    // The text is in an embedded font (glyph ids): read it back through
    // the font's /ToUnicode map.
    assert!(pdf_bytes.starts_with(b"%PDF-"), "{}", r.body);
    let runs = metiva_db::billing::pdf_text::text_runs(&pdf_bytes).unwrap();
    assert!(
        runs.iter().any(|t| t == "Bloemenhuis Hendriks") && runs.iter().any(|t| t == "€ 1.512,50"),
        "{runs:?}"
    );
    assert!(metiva_db::billing::pdf_text::embeds_truetype_font(&pdf_bytes).unwrap());
    let audited = w
        .audit_rows(DE_VRIES)
        .await
        .into_iter()
        .filter(|a| {
            a.action == "billing.invoice_pdf_downloaded"
                && a.target_id.as_deref() == Some(id.to_string().as_str())
        })
        .count();
    assert_eq!(audited, 1);

    // Refusals: a role without billing.read, a malformed or unknown id,
    // another workspace's member.
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let r = call(&w.dashboard, get_with(&href, &[("metiva_session", &sales)])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    for bad in [
        "/billing/invoices/nope/pdf",
        "/billing/invoices/00000000-0000-4000-8000-000000000000/pdf",
    ] {
        let r = call(&w.dashboard, get_with(bad, &[("metiva_session", &finance)])).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.body);
    }
    let other = w
        .sign_in("owner@brouwer.example", crate::world::BROUWER)
        .await;
    let r = call(&w.dashboard, get_with(&href, &[("metiva_session", &other)])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}
