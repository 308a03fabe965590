-- uacreg: migrate a stock Kamailio `uacreg` table (version 5) in place.
--
-- Idempotent: a second run changes nothing. No row is touched: the new
-- columns are nullable or default to 0, and stock uac 5.6.3 ignores them,
-- so loading stock uac again is the rollback.

ALTER TABLE `uacreg` ADD COLUMN IF NOT EXISTS `reauth_new_dialog` TINYINT DEFAULT NULL;
ALTER TABLE `uacreg` ADD COLUMN IF NOT EXISTS `fail_ceiling` INT DEFAULT NULL;
ALTER TABLE `uacreg` ADD COLUMN IF NOT EXISTS `fail_count` INT DEFAULT 0 NOT NULL;

CREATE TABLE IF NOT EXISTS `uacreg_archive` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    -- the uacreg row's id: two events of one l_uuid (a row added again,
    -- a kept row enabled again) are two archive rows
    `row_id` BIGINT UNSIGNED DEFAULT NULL,
    `l_uuid` VARCHAR(64) NOT NULL,
    `l_username` VARCHAR(64) DEFAULT '' NOT NULL,
    `l_domain` VARCHAR(64) DEFAULT '' NOT NULL,
    `r_username` VARCHAR(64) DEFAULT '' NOT NULL,
    `r_domain` VARCHAR(64) DEFAULT '' NOT NULL,
    `auth_username` VARCHAR(64) DEFAULT '' NOT NULL,
    `auth_proxy` VARCHAR(255) DEFAULT '' NOT NULL,
    `fail_count` INT DEFAULT 0 NOT NULL,
    `fail_class` VARCHAR(32) DEFAULT '' NOT NULL,
    `last_code` INT DEFAULT 0 NOT NULL,
    `last_reason` VARCHAR(64) DEFAULT '' NOT NULL,
    `reason` VARCHAR(64) DEFAULT 'failure ceiling' NOT NULL,
    `archived_at` DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL,
    KEY l_uuid_idx (`l_uuid`)
);

-- An archive made by an earlier version (table version 1) had one row per
-- (l_uuid, fail_count): a second event of the same line was dropped.
ALTER TABLE `uacreg_archive` ADD COLUMN IF NOT EXISTS `row_id` BIGINT UNSIGNED DEFAULT NULL AFTER `id`;
ALTER TABLE `uacreg_archive` DROP INDEX IF EXISTS `l_uuid_removal_idx`;
ALTER TABLE `uacreg_archive` ADD INDEX IF NOT EXISTS `l_uuid_idx` (`l_uuid`);

INSERT INTO `version` (table_name, table_version) VALUES ('uacreg_archive', '2')
    ON DUPLICATE KEY UPDATE table_version = 2;
