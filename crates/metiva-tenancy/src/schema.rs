// @generated from the migrated database by the isolation suite's
// schema_file test. Do not edit: run
// METIVA_BLESS_SCHEMA=1 cargo test -p metiva-db --test isolation schema_file

diesel::table! {
    adapter_breakers (company_id, provider) {
        company_id -> Text,
        provider -> Text,
        state -> Text,
        consecutive_failures -> Integer,
        opened_at -> Nullable<Timestamptz>,
        retry_at -> Nullable<Timestamptz>,
        probe_until -> Nullable<Timestamptz>,
        last_success_at -> Nullable<Timestamptz>,
        last_error_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_chain_checks (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        checked_at -> Timestamptz,
        rows_checked -> BigInt,
        head_seq -> BigInt,
        head_hash -> Bytea,
        ok -> Bool,
        broken_id -> Nullable<BigInt>,
        broken_seq -> Nullable<BigInt>,
        broken_kind -> Nullable<Text>,
    }
}

diesel::table! {
    audit_checkpoints (company_id, id) {
        company_id -> Text,
        id -> BigInt,
        created_at -> Timestamptz,
        first_seq -> BigInt,
        through_seq -> BigInt,
        last_hash -> Bytea,
        removed -> BigInt,
        from_at -> Timestamptz,
        to_at -> Timestamptz,
        key_id -> Text,
        signature -> Bytea,
    }
}

diesel::table! {
    audit_log (company_id, id) {
        company_id -> Text,
        id -> BigInt,
        at -> Timestamptz,
        actor_user_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        seq -> BigInt,
        prev_hash -> Bytea,
        hash -> Bytea,
        note -> Nullable<Text>,
        format -> SmallInt,
    }
}

diesel::table! {
    auth_codes (code_hash) {
        code_hash -> Bytea,
        sealed_token -> Bytea,
        return_to -> Text,
        state -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    companies (id) {
        id -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    company_branding (company_id) {
        company_id -> Text,
        address -> Nullable<Text>,
        kvk -> Nullable<Text>,
        vat -> Nullable<Text>,
        logo_file_id -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    company_keys (company_id, id) {
        company_id -> Text,
        id -> Text,
        kek_id -> Text,
        wrap_nonce -> Bytea,
        wrapped -> Bytea,
        created_at -> Timestamptz,
        rewrapped_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    consent_decisions (company_id, id) {
        company_id -> Text,
        id -> BigInt,
        site_id -> Uuid,
        visitor_id -> Nullable<Uuid>,
        analytics -> Bool,
        identification -> Bool,
        marketing -> Bool,
        withdrawal -> Bool,
        banner_version -> Text,
        lang -> Text,
        text_hash -> Text,
        decided_at -> Timestamptz,
        erased_subject -> Nullable<Uuid>,
    }
}

diesel::table! {
    conversion_uploads (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        deal_id -> Uuid,
        person_id -> Nullable<Uuid>,
        platform -> Text,
        state -> Text,
        reason -> Nullable<Text>,
        idempotency_key -> Text,
        value_cents -> BigInt,
        currency -> Text,
        won_at -> Timestamptz,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    crm_imports (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        body -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    deal_stage_counts (company_id, stage) {
        company_id -> Text,
        stage -> Text,
        deals -> BigInt,
    }
}

diesel::table! {
    deal_stage_history (company_id, id) {
        company_id -> Text,
        id -> BigInt,
        deal_id -> Uuid,
        from_stage -> Nullable<Text>,
        to_stage -> Text,
        reason -> Nullable<Text>,
        actor_user_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::table! {
    deals (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        title -> Text,
        value_cents -> BigInt,
        currency -> Text,
        stage -> Text,
        owner_user_id -> Nullable<Uuid>,
        person_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        expected_close -> Nullable<Date>,
        organisation_id -> Nullable<Uuid>,
        outcome_reason -> Nullable<Text>,
        version -> Integer,
    }
}

diesel::table! {
    erased_subjects (company_id, subject_id) {
        company_id -> Text,
        subject_id -> Uuid,
        receipt_id -> Uuid,
    }
}

diesel::table! {
    erasure_receipt_lines (company_id, receipt_id, table_name) {
        company_id -> Text,
        receipt_id -> Uuid,
        table_name -> Text,
        erased -> BigInt,
        retained -> BigInt,
        basis -> Nullable<Text>,
        retained_ids -> Array<Nullable<Uuid>>,
    }
}

diesel::table! {
    erasure_receipts (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        at -> Timestamptz,
        actor_user_id -> Uuid,
        subject_kind -> Text,
        reason -> Text,
        note -> Nullable<Text>,
        tombstone -> Uuid,
    }
}

diesel::table! {
    export_downloads (company_id, token_hash) {
        company_id -> Text,
        token_hash -> Bytea,
        export_id -> Uuid,
        issued_to -> Uuid,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    export_files_removed (company_id, export_id) {
        company_id -> Text,
        export_id -> Uuid,
        removed_at -> Timestamptz,
    }
}

diesel::table! {
    exports (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        requested_by -> Uuid,
        status -> Text,
        rows_done -> BigInt,
        rows_total -> BigInt,
        tables_done -> Integer,
        tables_total -> Integer,
        bytes -> Nullable<BigInt>,
        sha256 -> Nullable<Text>,
        attempt -> Integer,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        downloaded_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    forwards (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        visitor_id -> Uuid,
        person_id -> Nullable<Uuid>,
        event -> Text,
        status -> Text,
        created_at -> Timestamptz,
        cancelled_at -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    integrations (company_id, provider) {
        company_id -> Text,
        provider -> Text,
        hint -> Text,
        credentials_key_id -> Text,
        credentials_nonce -> Bytea,
        credentials_ciphertext -> Bytea,
        connected_by -> Nullable<Uuid>,
        connected_at -> Timestamptz,
    }
}

diesel::table! {
    invitations (company_id, token_hash) {
        company_id -> Text,
        token_hash -> Bytea,
        user_id -> Uuid,
        invited_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invoice_counters (company_id, year) {
        company_id -> Text,
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    invoice_lines (company_id, invoice_id, line_no) {
        company_id -> Text,
        invoice_id -> Uuid,
        line_no -> SmallInt,
        description -> Text,
        quantity -> Integer,
        unit_cents -> BigInt,
        vat_rate -> SmallInt,
        net_cents -> BigInt,
        vat_cents -> BigInt,
    }
}

diesel::table! {
    invoice_stripe (company_id, invoice_id) {
        company_id -> Text,
        invoice_id -> Uuid,
        stripe_customer_id -> Text,
        stripe_invoice_id -> Text,
        organisation_id -> Uuid,
    }
}

diesel::table! {
    invoices (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        organisation_id -> Uuid,
        retainer_id -> Nullable<Uuid>,
        period -> Nullable<Text>,
        year -> Integer,
        seq -> Integer,
        status -> Text,
        issued_on -> Date,
        due_on -> Date,
        subtotal_cents -> BigInt,
        vat_cents -> BigInt,
        total_cents -> BigInt,
        reverse_charge -> Bool,
        customer_vat -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        kind -> Text,
        payload -> Text,
        job_key -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamptz,
        locked_by -> Nullable<Text>,
        locked_at -> Nullable<Timestamptz>,
        lock_expires_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    known_networks (company_id, network) {
        company_id -> Text,
        network -> Cidr,
        organisation -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    lead_sla (company_id) {
        company_id -> Text,
        target_minutes -> Integer,
        day_start -> Time,
        day_end -> Time,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Bytea,
        failures -> Integer,
        last_failure_at -> Timestamptz,
        next_allowed_at -> Timestamptz,
    }
}

diesel::table! {
    member_phones (company_id, user_id) {
        company_id -> Text,
        user_id -> Uuid,
        phone_key_id -> Text,
        phone_nonce -> Bytea,
        phone_ciphertext -> Bytea,
        phone_hint -> Text,
        verified_at -> Timestamptz,
        sms_alerts -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (company_id, user_id) {
        company_id -> Text,
        user_id -> Uuid,
        role -> Text,
        status -> Text,
        created_at -> Timestamptz,
        last_sign_in_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    notes (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        body -> Text,
        author_user_id -> Nullable<Uuid>,
        person_id -> Nullable<Uuid>,
        deal_id -> Nullable<Uuid>,
        organisation_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::table! {
    notifications (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        task_id -> Uuid,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    offboardings (workspace) {
        workspace -> Text,
        state -> Text,
        actor_user_id -> Nullable<Uuid>,
        requested_by -> Text,
        started_at -> Timestamptz,
        key_destroyed_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        rows_deleted -> Jsonb,
        files_deleted -> BigInt,
        files_deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    organisations (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        name -> Text,
        domain -> Nullable<Text>,
        kvk -> Nullable<Text>,
        vat -> Nullable<Text>,
        address -> Nullable<Text>,
        owner_user_id -> Nullable<Uuid>,
        notes -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        name_key -> Nullable<Text>,
    }
}

diesel::table! {
    page_view_daily (company_id, id) {
        company_id -> Text,
        id -> BigInt,
        day -> Date,
        organisation -> Nullable<Text>,
        org_source -> Nullable<Text>,
        path -> Text,
        views -> BigInt,
        first_at -> Timestamptz,
        last_at -> Timestamptz,
    }
}

diesel::table! {
    page_view_rollup_marks (company_id) {
        company_id -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    page_views (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        site_id -> Uuid,
        visitor_id -> Nullable<Uuid>,
        at -> Timestamptz,
        path -> Text,
        referrer_domain -> Nullable<Text>,
        organisation -> Nullable<Text>,
        org_source -> Nullable<Text>,
        ip_key_id -> Text,
        ip_nonce -> Bytea,
        ip_ciphertext -> Bytea,
    }
}

diesel::table! {
    persons (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        organisation -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        organisation_id -> Nullable<Uuid>,
        owner_user_id -> Nullable<Uuid>,
        notes -> Nullable<Text>,
        source -> Text,
        version -> Integer,
        deals_count -> BigInt,
        visitors_count -> BigInt,
    }
}

diesel::table! {
    phone_codes (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        user_id -> Uuid,
        phone_key_id -> Text,
        phone_nonce -> Bytea,
        phone_ciphertext -> Bytea,
        phone_hint -> Text,
        code_salt -> Bytea,
        code_hash -> Bytea,
        attempts -> Integer,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    pipeline_stages (company_id, key) {
        company_id -> Text,
        key -> Text,
        label -> Text,
        position -> Integer,
        outcome -> Text,
    }
}

diesel::table! {
    retainers (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        organisation_id -> Uuid,
        description -> Text,
        monthly_cents -> BigInt,
        vat_rate -> SmallInt,
        reverse_charge -> Bool,
        customer_vat -> Nullable<Text>,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        billing_day -> SmallInt,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    retention_settings (company_id) {
        company_id -> Text,
        page_views_months -> Integer,
        visitors_months -> Integer,
        contacts_months -> Integer,
        audit_months -> Integer,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    retention_sweeps (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        started_at -> Timestamptz,
        heartbeat_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        abandoned -> Bool,
        batches -> Integer,
        page_views -> BigInt,
        visitors -> BigInt,
        consent_decisions -> BigInt,
        contacts -> BigInt,
        audit_rows -> BigInt,
    }
}

diesel::table! {
    search_terms (company_id, term, kind, record_id) {
        company_id -> Text,
        term -> Text,
        kind -> Text,
        record_id -> Uuid,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        secret_hash -> Bytea,
        user_agent -> Nullable<Text>,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        ip_key_id -> Nullable<Text>,
        ip_nonce -> Nullable<Bytea>,
        ip_ciphertext -> Nullable<Bytea>,
    }
}

diesel::table! {
    sites (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        domain -> Text,
        site_key -> Text,
        allowed_origins -> Array<Nullable<Text>>,
        enabled -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sms_messages (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        breaches -> Nullable<Integer>,
        phone_code_id -> Nullable<Uuid>,
        body_key_id -> Nullable<Text>,
        body_nonce -> Nullable<Bytea>,
        body_ciphertext -> Nullable<Bytea>,
        status -> Text,
        provider_sid -> Nullable<Text>,
        error_code -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        status_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    stored_files (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        purpose -> Text,
        invoice_id -> Nullable<Uuid>,
        name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Bytea,
        object_key -> Text,
        key_id -> Text,
        nonce -> Bytea,
        created_at -> Timestamptz,
        deal_id -> Nullable<Uuid>,
        organisation_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    stripe_connections (company_id) {
        company_id -> Text,
        endpoint_id -> Text,
        api_key_hint -> Text,
        api_key_key_id -> Text,
        api_key_nonce -> Bytea,
        api_key_ciphertext -> Bytea,
        webhook_secret_key_id -> Text,
        webhook_secret_nonce -> Bytea,
        webhook_secret_ciphertext -> Bytea,
        api_version -> Text,
        connected_by -> Nullable<Uuid>,
        connected_at -> Timestamptz,
    }
}

diesel::table! {
    stripe_events (company_id, event_id) {
        company_id -> Text,
        event_id -> Text,
        event_type -> Text,
        stripe_invoice_id -> Nullable<Text>,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        outcome -> Nullable<Text>,
    }
}

diesel::table! {
    system_checks (id) {
        id -> BigInt,
        checked_at -> Timestamptz,
        round_trip_us -> Integer,
    }
}

diesel::table! {
    tasks (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        title -> Text,
        due_at -> Nullable<Timestamptz>,
        assignee_user_id -> Nullable<Uuid>,
        person_id -> Nullable<Uuid>,
        deal_id -> Nullable<Uuid>,
        organisation_id -> Nullable<Uuid>,
        purpose -> Text,
        done_at -> Nullable<Timestamptz>,
        version -> Integer,
        created_at -> Timestamptz,
        breached_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    token_signing_keys (kid) {
        kid -> Text,
        public_key -> Bytea,
        seed_key_id -> Text,
        seed_nonce -> Bytea,
        seed_ciphertext -> Bytea,
        state -> Text,
        created_at -> Timestamptz,
        activated_at -> Nullable<Timestamptz>,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    twilio_endpoints (company_id) {
        company_id -> Text,
        endpoint_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    visitors (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        site_id -> Uuid,
        visitor_key -> Uuid,
        analytics -> Bool,
        identification -> Bool,
        marketing -> Bool,
        person_id -> Nullable<Uuid>,
        first_seen -> Timestamptz,
        last_seen -> Timestamptz,
        views_count -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    adapter_breakers,
    audit_chain_checks,
    audit_checkpoints,
    audit_log,
    auth_codes,
    companies,
    company_branding,
    company_keys,
    consent_decisions,
    conversion_uploads,
    crm_imports,
    deal_stage_counts,
    deal_stage_history,
    deals,
    erased_subjects,
    erasure_receipt_lines,
    erasure_receipts,
    export_downloads,
    export_files_removed,
    exports,
    forwards,
    integrations,
    invitations,
    invoice_counters,
    invoice_lines,
    invoice_stripe,
    invoices,
    jobs,
    known_networks,
    lead_sla,
    login_throttle,
    member_phones,
    memberships,
    notes,
    notifications,
    offboardings,
    organisations,
    page_view_daily,
    page_view_rollup_marks,
    page_views,
    persons,
    phone_codes,
    pipeline_stages,
    retainers,
    retention_settings,
    retention_sweeps,
    search_terms,
    sessions,
    sites,
    sms_messages,
    stored_files,
    stripe_connections,
    stripe_events,
    system_checks,
    tasks,
    token_signing_keys,
    twilio_endpoints,
    users,
    visitors,
);
