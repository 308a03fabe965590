-- uacreg: the schema of a new install (MariaDB and MySQL 8: no integer
-- display widths, deprecated since MySQL 8.0.17).
--
-- The `uacreg` table is Kamailio's stock one (uac-create.sql, table version
-- 5) plus the columns uacreg adds; stock uac 5.6.3 still loads it, so an
-- operator can always go back. For an existing stock table run
-- migrate-from-uac.sql instead of this file.

CREATE TABLE IF NOT EXISTS `version` (
    `id` INT UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `table_name` VARCHAR(32) NOT NULL,
    `table_version` INT UNSIGNED DEFAULT 0 NOT NULL,
    CONSTRAINT table_name_idx UNIQUE (`table_name`)
);

CREATE TABLE IF NOT EXISTS `uacreg` (
    `id` INT UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `l_uuid` VARCHAR(64) DEFAULT '' NOT NULL,
    `l_username` VARCHAR(64) DEFAULT '' NOT NULL,
    `l_domain` VARCHAR(64) DEFAULT '' NOT NULL,
    `r_username` VARCHAR(64) DEFAULT '' NOT NULL,
    `r_domain` VARCHAR(64) DEFAULT '' NOT NULL,
    `realm` VARCHAR(64) DEFAULT '' NOT NULL,
    `auth_username` VARCHAR(64) DEFAULT '' NOT NULL,
    `auth_password` VARCHAR(64) DEFAULT '' NOT NULL,
    `auth_ha1` VARCHAR(128) DEFAULT '' NOT NULL,
    `auth_proxy` VARCHAR(255) DEFAULT '' NOT NULL,
    `expires` INT DEFAULT 0 NOT NULL,
    `flags` INT DEFAULT 0 NOT NULL,
    `reg_delay` INT DEFAULT 0 NOT NULL,
    `contact_addr` VARCHAR(255) DEFAULT '' NOT NULL,
    `socket` VARCHAR(128) DEFAULT '' NOT NULL,
    -- uacreg: NULL = the reauth_new_dialog modparam; 0 same dialog,
    -- 1 new dialog, 2 auto-detect
    `reauth_new_dialog` TINYINT DEFAULT NULL,
    -- uacreg: NULL = the fail_ceiling modparam; 0 = never delete
    `fail_ceiling` INT DEFAULT NULL,
    -- uacreg: consecutive counted failures, kept across restarts
    `fail_count` INT DEFAULT 0 NOT NULL,
    CONSTRAINT l_uuid_idx UNIQUE (`l_uuid`)
);

INSERT IGNORE INTO `version` (table_name, table_version) VALUES ('uacreg', '5');

-- Lines the failure ceiling removed, written by the shipped kamailio.cfg.
-- Never holds a password or HA1.
CREATE TABLE IF NOT EXISTS `uacreg_archive` (
    `id` INT UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
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
-- Each change is a prepared statement guarded by information_schema, as
-- MySQL 8 has no ADD COLUMN / DROP INDEX / ADD INDEX with IF [NOT] EXISTS.
SET @uacreg_ddl = (SELECT IF(COUNT(*) = 0,
    'ALTER TABLE `uacreg_archive` ADD COLUMN `row_id` BIGINT UNSIGNED DEFAULT NULL AFTER `id`', 'DO 0')
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'uacreg_archive' AND COLUMN_NAME = 'row_id');
PREPARE uacreg_stmt FROM @uacreg_ddl;
EXECUTE uacreg_stmt;
DEALLOCATE PREPARE uacreg_stmt;

SET @uacreg_ddl = (SELECT IF(COUNT(*) > 0,
    'ALTER TABLE `uacreg_archive` DROP INDEX `l_uuid_removal_idx`', 'DO 0')
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'uacreg_archive' AND INDEX_NAME = 'l_uuid_removal_idx');
PREPARE uacreg_stmt FROM @uacreg_ddl;
EXECUTE uacreg_stmt;
DEALLOCATE PREPARE uacreg_stmt;

SET @uacreg_ddl = (SELECT IF(COUNT(*) = 0,
    'ALTER TABLE `uacreg_archive` ADD INDEX `l_uuid_idx` (`l_uuid`)', 'DO 0')
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'uacreg_archive' AND INDEX_NAME = 'l_uuid_idx');
PREPARE uacreg_stmt FROM @uacreg_ddl;
EXECUTE uacreg_stmt;
DEALLOCATE PREPARE uacreg_stmt;

INSERT INTO `version` (table_name, table_version) VALUES ('uacreg_archive', '2')
    ON DUPLICATE KEY UPDATE table_version = 2;

-- uacreg HA (modparam ha_mode active/standby; untouched with ha_mode off):
-- the nodes that share this database and the owner of each line. InnoDB
-- with primary keys (a MariaDB Galera cluster needs both); every time in
-- them comes from the database's clock (NOW(3)).
CREATE TABLE IF NOT EXISTS `uacreg_node` (
    `node_id` VARCHAR(64) NOT NULL PRIMARY KEY,
    `priority` INT DEFAULT 100 NOT NULL,
    `ha_mode` VARCHAR(16) DEFAULT NULL,
    -- the node is live while lease_until > NOW(3)
    `lease_until` DATETIME(3) NOT NULL,
    `started` DATETIME(3) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS `uacreg_owner` (
    -- uacreg.l_uuid, with the same collation
    `l_uuid` VARCHAR(64) NOT NULL PRIMARY KEY,
    -- NULL: nobody owns the line (released, or never claimed)
    `node_id` VARCHAR(64) DEFAULT NULL,
    -- raised by exactly one at every claim: guards every write of the owner
    `epoch` BIGINT UNSIGNED DEFAULT 0 NOT NULL,
    `claimed_at` DATETIME(3) DEFAULT NULL,
    KEY node_id_idx (`node_id`)
) ENGINE=InnoDB;
