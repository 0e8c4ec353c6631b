-- Gateway list tail at full scale (1.83 M posts). GET /api/v1/posts?content_type=image&sort=score
-- read reddit_posts_score and skipped the other types (plus an incremental sort on reddit_id),
-- and its total, count(*) of 780 k image posts, was a parallel seq scan: ~360 ms on three
-- processes (~1 CPU-second), redone every ~10 s per worker, stalling both cores of a small box
-- (the list's p99). With this index the page is read in order (no filter, no sort) and the
-- count is an index-only scan (~80 ms on one process once the visibility map is set).
CREATE INDEX IF NOT EXISTS reddit_posts_content_type_score ON reddit_posts (content_type, score DESC, reddit_id);
