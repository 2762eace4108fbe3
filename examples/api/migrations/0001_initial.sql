create table profiles (
    id bigserial primary key,
    name text not null,
    created_at timestamptz not null default now()
);

create table job_runs (
    id bigserial primary key,
    version text not null,
    ran_at timestamptz not null default now()
);
