//! Diesel's view of the tables (kept by hand in step with `migrations/`).

diesel::table! {
    companies (id) {
        id -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        created_at -> Timestamptz,
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
    persons (company_id, id) {
        company_id -> Text,
        id -> Uuid,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        organisation -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
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
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    companies,
    users,
    memberships,
    persons,
    deals,
    audit_log
);
