namespace FunctionalNets

// Placeholder: this op family lands here.
