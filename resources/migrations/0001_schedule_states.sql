CREATE TABLE `schedule_states` (
	`operation_id` text PRIMARY KEY NOT NULL,
	`last_handled_at` text NOT NULL,
	`next_run_at` text,
	`running_since` text,
	`last_run_at` text,
	`last_run_status` text,
	`last_checkpoint_id` text,
	`last_error` text,
	FOREIGN KEY (`operation_id`) REFERENCES `scheduled_operations`(`id`) ON UPDATE no action ON DELETE cascade
);
