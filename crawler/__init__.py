"""The Scrapy project: one generic spider driven by a source's config."""
