-- An Instagram item can be a reel and a post at once (a creator's /user-feeds timeline carries
-- their reels too). One row per media_pk keeps both roles: is_reel / is_post are OR-ed over
-- every fact that carried the item (order-independent), and kind stays the primary role
-- ('reel' when it is a reel at all) for the reel lists and their indexes.
ALTER TABLE instagram_media
    ADD COLUMN is_reel boolean NOT NULL DEFAULT false,
    ADD COLUMN is_post boolean NOT NULL DEFAULT false;
UPDATE instagram_media SET is_reel = (kind = 'reel'), is_post = (kind = 'post');
ALTER TABLE instagram_media ADD CONSTRAINT instagram_media_has_role
    CHECK ((is_reel OR is_post) AND (kind = 'reel') = is_reel);
CREATE INDEX instagram_media_creator_posts ON instagram_media (ig_user_id, taken_at DESC NULLS LAST)
    WHERE is_post;
