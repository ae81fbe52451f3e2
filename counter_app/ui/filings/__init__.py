"""The filing wizard (新增、变更、取消备案): its state, its steps and its flow."""
