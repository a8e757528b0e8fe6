namespace FunctionalNets

// Placeholder: Data/DataLocation lands here.
