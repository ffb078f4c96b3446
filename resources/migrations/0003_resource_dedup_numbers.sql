ALTER TABLE `checkpoint_resources` ADD `data_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `checkpoint_resources` ADD `new_bytes` integer DEFAULT 0 NOT NULL;