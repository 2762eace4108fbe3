alter table profiles add column bio text not null default '';
