CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`project_id` text NOT NULL,
	`role` text NOT NULL,
	`name` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_tokenHash_unique` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `known_instances` (
	`type` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`locator` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`type`, `id`)
);
--> statement-breakpoint
CREATE TABLE `quota_classes` (
	`class_name` text NOT NULL,
	`resource` text NOT NULL,
	`hard_limit` integer NOT NULL,
	PRIMARY KEY(`class_name`, `resource`)
);
--> statement-breakpoint
CREATE TABLE `quotas` (
	`project_id` text NOT NULL,
	`resource` text NOT NULL,
	`hard_limit` integer NOT NULL,
	PRIMARY KEY(`project_id`, `resource`)
);
--> statement-breakpoint
CREATE TABLE `services` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`binary` text NOT NULL,
	`host` text NOT NULL,
	`topic` text NOT NULL,
	`disabled` integer NOT NULL,
	`disabled_reason` text,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`protection_plan` text NOT NULL,
	`status` text NOT NULL,
	`resource_graph` text,
	`extra_info` text,
	`error_reason` text,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE INDEX `checkpoints_provider_created` ON `checkpoints` (`provider_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `checkpoints_plan` ON `checkpoints` (`plan_id`);--> statement-breakpoint
CREATE TABLE `operation_logs` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`operation_type` text NOT NULL,
	`checkpoint_id` text,
	`plan_id` text,
	`provider_id` text,
	`restore_id` text,
	`scheduled_operation_id` text,
	`status` text NOT NULL,
	`started_at` text,
	`ended_at` text,
	`error_info` text,
	`extra_info` text,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE INDEX `operation_logs_project_created` ON `operation_logs` (`project_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `operation_logs_checkpoint` ON `operation_logs` (`checkpoint_id`);--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`provider_id` text NOT NULL,
	`status` text NOT NULL,
	`resources` text NOT NULL,
	`parameters` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE INDEX `plans_project_created` ON `plans` (`project_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `restores` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`checkpoint_id` text NOT NULL,
	`restore_target` text,
	`restore_auth` text,
	`parameters` text NOT NULL,
	`status` text NOT NULL,
	`resources_status` text NOT NULL,
	`resources_reason` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE INDEX `restores_project_created` ON `restores` (`project_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `verifications` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`checkpoint_id` text NOT NULL,
	`parameters` text NOT NULL,
	`status` text NOT NULL,
	`resources_status` text NOT NULL,
	`resources_reason` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE INDEX `verifications_project_created` ON `verifications` (`project_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `scheduled_operations` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`operation_type` text NOT NULL,
	`trigger_id` text NOT NULL,
	`operation_definition` text NOT NULL,
	`enabled` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text,
	FOREIGN KEY (`trigger_id`) REFERENCES `triggers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `scheduled_operations_project_created` ON `scheduled_operations` (`project_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `scheduled_operations_trigger` ON `scheduled_operations` (`trigger_id`);--> statement-breakpoint
CREATE TABLE `triggers` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`properties` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text
);
--> statement-breakpoint
CREATE INDEX `triggers_project_created` ON `triggers` (`project_id`,`created_at`,`id`);