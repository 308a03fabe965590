-- uacreg: migrate a stock Kamailio `uacreg` table (version 5) in place.
--
-- Idempotent: a second run changes nothing. No row is touched: the new
-- columns are nullable or default to 0, and stock uac (5.6 and 6.0) ignores
-- them, so loading stock uac again is the rollback.
--
-- Runs unchanged on MariaDB and on MySQL 8: no `ADD COLUMN IF NOT EXISTS`
-- (MariaDB only) and no integer display widths (deprecated since MySQL
-- 8.0.17). Each column is added by a prepared ALTER TABLE only when
-- information_schema does not list it yet, else a prepared `DO 0`: no
-- stored procedure, so no DELIMITER, no CREATE ROUTINE privilege, and
-- nothing is left behind in the schema.

SET @uacreg_ddl = (SELECT IF(COUNT(*) = 0,
    'ALTER TABLE `uacreg` ADD COLUMN `reauth_new_dialog` TINYINT DEFAULT NULL', 'DO 0')
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'uacreg' AND COLUMN_NAME = 'reauth_new_dialog');
PREPARE uacreg_stmt FROM @uacreg_ddl;
EXECUTE uacreg_stmt;
DEALLOCATE PREPARE uacreg_stmt;

SET @uacreg_ddl = (SELECT IF(COUNT(*) = 0,
    'ALTER TABLE `uacreg` ADD COLUMN `fail_ceiling` INT DEFAULT NULL', 'DO 0')
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'uacreg' AND COLUMN_NAME = 'fail_ceiling');
PREPARE uacreg_stmt FROM @uacreg_ddl;
EXECUTE uacreg_stmt;
DEALLOCATE PREPARE uacreg_stmt;

SET @uacreg_ddl = (SELECT IF(COUNT(*) = 0,
    'ALTER TABLE `uacreg` ADD COLUMN `fail_count` INT DEFAULT 0 NOT NULL', 'DO 0')
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'uacreg' AND COLUMN_NAME = 'fail_count');
PREPARE uacreg_stmt FROM @uacreg_ddl;
EXECUTE uacreg_stmt;
DEALLOCATE PREPARE uacreg_stmt;

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
