public enum CLRuntimePlaceholder {}
