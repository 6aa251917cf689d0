-- A newswatch database made by the schema before the folded search index
-- (user_version 4): schema from sqlite_master and rows, written from a database the
-- main code of the time created (Store) and filled. tests/test_search.py loads it and
-- opens it with Store: the index migrates in place.
BEGIN;
CREATE TABLE "sources" (
   "name" TEXT PRIMARY KEY,
   "title" TEXT,
   "language" TEXT,
   "domains" TEXT,
   "added" TEXT
);
CREATE TABLE "articles" (
   "id" INTEGER PRIMARY KEY,
   "url" TEXT,
   "source" TEXT REFERENCES "sources"("name"),
   "title" TEXT,
   "author" TEXT,
   "published" TEXT,
   "language" TEXT,
   "lead" TEXT,
   "text" TEXT,
   "content_hash" TEXT,
   "fetched_url" TEXT,
   "first_seen" TEXT,
   "last_seen" TEXT,
   "updated" TEXT
, "published_utc" TEXT, "version" INTEGER, "story_id" INTEGER, "link" TEXT, "duplicate_of" INTEGER, "topic" TEXT, "relevance" REAL, "relevant" INTEGER, "reasons" TEXT, "entities" TEXT, "signature" BLOB);
CREATE UNIQUE INDEX "idx_articles_url"
    ON "articles" ("url");
CREATE INDEX "idx_articles_source_published"
    ON "articles" ("source", "published");
CREATE INDEX "idx_articles_content_hash"
    ON "articles" ("content_hash");
CREATE VIRTUAL TABLE "articles_fts" USING FTS5 (
    "title", "text",
    tokenize='unicode61',
    content="articles"
);
CREATE TRIGGER "articles_ai" AFTER INSERT ON "articles" BEGIN
  INSERT INTO "articles_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
END;
CREATE TRIGGER "articles_ad" AFTER DELETE ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "text") VALUES('delete', old.rowid, old."title", old."text");
END;
CREATE TRIGGER "articles_au" AFTER UPDATE ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "text") VALUES('delete', old.rowid, old."title", old."text");
  INSERT INTO "articles_fts" (rowid, "title", "text") VALUES (new.rowid, new."title", new."text");
END;
CREATE TABLE "crawl_runs" (
   "id" INTEGER PRIMARY KEY,
   "source" TEXT,
   "started" TEXT,
   "finished" TEXT,
   "status" TEXT,
   "found" INTEGER,
   "new" INTEGER,
   "updated" INTEGER,
   "unchanged" INTEGER,
   "errors" INTEGER,
   "requests" INTEGER,
   "error_detail" TEXT
, "duplicate" INTEGER, "irrelevant" INTEGER, "skipped" INTEGER);
CREATE INDEX "idx_crawl_runs_source_started"
    ON "crawl_runs" ("source", "started");
CREATE INDEX "idx_articles_story_id"
    ON "articles" ("story_id");
CREATE INDEX "idx_articles_language_published_utc"
    ON "articles" ("language", "published_utc");
CREATE TABLE "versions" (
   "id" INTEGER PRIMARY KEY,
   "article_id" INTEGER REFERENCES "articles"("id"),
   "version" INTEGER,
   "content_hash" TEXT,
   "title" TEXT,
   "text" TEXT,
   "diff" TEXT,
   "word_diff" TEXT,
   "seen" TEXT
);
CREATE UNIQUE INDEX "idx_versions_article_id_version"
    ON "versions" ("article_id", "version");
CREATE TABLE "stories" (
   "id" INTEGER PRIMARY KEY,
   "title" TEXT,
   "first_seen" TEXT,
   "updated" TEXT,
   "articles" INTEGER,
   "languages" TEXT,
   "relevant" INTEGER,
   "relevance" REAL
);
CREATE TABLE "lsh_bands" (
   "key" INTEGER,
   "article_id" INTEGER
);
CREATE INDEX "idx_lsh_bands_key"
    ON "lsh_bands" ("key");
CREATE INDEX "idx_lsh_bands_article_id"
    ON "lsh_bands" ("article_id");
CREATE TABLE "event_keys" (
   "key" TEXT,
   "article_id" INTEGER,
   "language" TEXT,
   "published_utc" TEXT
);
CREATE INDEX "idx_event_keys_key_published_utc"
    ON "event_keys" ("key", "published_utc");
CREATE INDEX "idx_event_keys_article_id"
    ON "event_keys" ("article_id");
CREATE TABLE "alerts" (
   "id" INTEGER PRIMARY KEY,
   "key" TEXT,
   "article_id" INTEGER,
   "story_id" INTEGER,
   "version" INTEGER,
   "kind" TEXT,
   "rule" TEXT,
   "channel" TEXT,
   "status" TEXT,
   "attempts" INTEGER,
   "next_attempt" TEXT,
   "last_error" TEXT,
   "created" TEXT,
   "sent" TEXT
);
CREATE UNIQUE INDEX "idx_alerts_key"
    ON "alerts" ("key");
CREATE INDEX "idx_alerts_status_next_attempt"
    ON "alerts" ("status", "next_attempt");
CREATE TABLE "fetches" (
   "url" TEXT PRIMARY KEY,
   "etag" TEXT,
   "last_modified" TEXT,
   "status" INTEGER,
   "fetched" TEXT,
   "changed" TEXT
);
CREATE TABLE "daemon" (
   "name" TEXT PRIMARY KEY,
   "pid" INTEGER,
   "started" TEXT,
   "beat" TEXT,
   "state" TEXT
);
INSERT INTO "sources" VALUES('vnexpress','VnExpress','vi','[]','2024-01-01T00:00:00+00:00');
INSERT INTO "articles" VALUES(1,'https://vnexpress.net/a-1','vnexpress','Việt Nam và Hoa Kỳ nâng cấp quan hệ đối tác',NULL,NULL,'vi',NULL,'Bộ trưởng Bùi Thanh Sơn tiếp Ngoại trưởng Blinken tại Hà Nội.
Hai bên thảo luận về Đối thoại chiến lược.',NULL,NULL,'2024-01-01T00:00:00+00:00','2024-01-01T00:00:00+00:00',NULL,'2024-01-01T00:00:00+00:00',1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "articles" VALUES(2,'https://vnexpress.net/a-2','vnexpress','Doi thoai kinh te',NULL,NULL,'vi',NULL,'Tin khong dau: hai ben ban ve doi tac va thuong mai.',NULL,NULL,'2024-01-01T00:00:00+00:00','2024-01-01T00:00:00+00:00',NULL,'2024-01-02T00:00:00+00:00',1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "articles" VALUES(3,'https://vnexpress.net/a-3','vnexpress','Trường Đại học hợp tác bán dẫn',NULL,NULL,'vi',NULL,'Các trường đại học Mỹ mở chương trình đào tạo kỹ sư.',NULL,NULL,'2024-01-01T00:00:00+00:00','2024-01-01T00:00:00+00:00',NULL,'2024-01-03T00:00:00+00:00',1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO articles_fts(articles_fts) VALUES('rebuild');
COMMIT;
PRAGMA user_version = 4;
