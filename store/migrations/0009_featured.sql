-- 0009_featured: the featured rotation. rotated marks a feature the
-- rotation chose (an administrator's feature has rotated = 0 and stays
-- until an administrator ends it); last_featured_at is when the rotation
-- last chose the extension (0: never), so that the set moves on.

ALTER TABLE gallery_extensions ADD COLUMN rotated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE gallery_extensions ADD COLUMN last_featured_at INTEGER NOT NULL DEFAULT 0;
