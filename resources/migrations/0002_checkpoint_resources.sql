CREATE TABLE `checkpoint_resources` (
	`checkpoint_id` text NOT NULL,
	`resource_key` text NOT NULL,
	`resource_type` text NOT NULL,
	`resource_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`saved_info` text,
	`error` text,
	`bytes` integer DEFAULT 0 NOT NULL,
	`started_at` text,
	`ended_at` text,
	PRIMARY KEY(`checkpoint_id`, `resource_key`),
	FOREIGN KEY (`checkpoint_id`) REFERENCES `checkpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
