//! The English → Dutch catalog of `/settings/jobs`.

pub const JOBS_CATALOG: &[(&str, &str)] = &[
    ("Background jobs", "Achtergrondtaken"),
    ("Open jobs", "Openstaande taken"),
    (
        "Background work of this workspace. A job runs at least once; a failed job is retried with increasing waits, and after its last attempt it is dead until someone retries or discards it.",
        "Achtergrondwerk van deze werkruimte. Een taak draait minstens één keer; een mislukte taak wordt met steeds langere pauzes opnieuw geprobeerd en is na de laatste poging opgegeven, tot iemand haar opnieuw start of verwerpt.",
    ),
    ("No open jobs.", "Geen openstaande taken."),
    ("Job", "Taak"),
    ("State", "Status"),
    ("Attempts", "Pogingen"),
    ("Next run (UTC)", "Volgende run (UTC)"),
    ("Last error", "Laatste fout"),
    ("Queued", "In de wachtrij"),
    ("Running", "Bezig"),
    ("Failed, will retry", "Mislukt, wordt opnieuw geprobeerd"),
    ("Dead", "Opgegeven"),
    ("Unknown", "Onbekend"),
    ("Retry now", "Nu opnieuw proberen"),
    ("Discard", "Verwerpen"),
    ("Schedules", "Planningen"),
    ("Daily at", "Dagelijks om"),
    ("Hourly at", "Elk uur om"),
    ("Every minute", "Elke minuut"),
    ("next:", "volgende:"),
    (
        "That job is not here, or it is running.",
        "Die taak staat hier niet, of is bezig.",
    ),
    ("Jobs", "Achtergrondtaken"),
];
